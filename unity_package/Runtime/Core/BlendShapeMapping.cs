// Turns a frame's weights (server order) into mesh blend-shape weights (Unity's 0..100 scale).
using System;
using System.Collections.Generic;

namespace Text2Lips.Core
{
    /// <summary>
    /// Resolved bindings for one mesh and one server: which source weight drives which mesh
    /// blend-shape index, and how strongly. Several sources may drive one target (VRM vowels):
    /// their contributions add up and the sum is clamped to [0, <see cref="MaxWeight"/>].
    /// </summary>
    public sealed class BlendShapeMapping
    {
        readonly int[] _source;   // per link: index into the frame's weights
        readonly int[] _slot;     // per link: index into TargetIndices
        readonly float[] _scale;  // per link

        BlendShapeMapping(int[] source, int[] slot, float[] scale, int[] targets, string[] unmatched, float maxWeight)
        {
            _source = source;
            _slot = slot;
            _scale = scale;
            TargetIndices = targets;
            UnmatchedBindings = unmatched;
            MaxWeight = maxWeight;
        }

        /// <summary>The mesh blend-shape indices written, each once; the order of <see cref="Apply"/>'s output.</summary>
        public int[] TargetIndices { get; private set; }

        /// <summary>Bindings left out, as "source → target": a source the server does not send or a target the mesh lacks.</summary>
        public string[] UnmatchedBindings { get; private set; }

        /// <summary>Upper clamp of the output (Unity's full blend-shape weight is 100).</summary>
        public float MaxWeight { get; private set; }

        /// <summary>
        /// Resolves bindings against the server's weight names and the mesh's blend shapes.
        /// Source names are looked up exactly first, then with <see cref="BlendShapeNames.Match"/>;
        /// target names go through <paramref name="targetIndexOf"/> (e.g. Mesh.GetBlendShapeIndex),
        /// which returns -1 for a missing shape.
        /// </summary>
        public static BlendShapeMapping Build(
            IList<string> sourceNames, IEnumerable<BlendShapeBinding> bindings, Func<string, int> targetIndexOf,
            float maxWeight = 100f)
        {
            if (sourceNames == null) throw new ArgumentNullException("sourceNames");
            if (bindings == null) throw new ArgumentNullException("bindings");
            if (targetIndexOf == null) throw new ArgumentNullException("targetIndexOf");
            var exact = new Dictionary<string, int>();
            for (int i = 0; i < sourceNames.Count; i++)
                if (!exact.ContainsKey(sourceNames[i])) exact[sourceNames[i]] = i;
            var sources = new List<int>();
            var slots = new List<int>();
            var scales = new List<float>();
            var targets = new List<int>();
            var unmatched = new List<string>();
            foreach (BlendShapeBinding b in bindings)
            {
                if (b == null) continue;
                int s;
                if (b.Source == null || !exact.TryGetValue(b.Source, out s))
                    s = BlendShapeNames.FindBest(sourceNames, new[] { b.Source });
                int t = string.IsNullOrEmpty(b.Target) ? -1 : targetIndexOf(b.Target);
                if (s < 0 || t < 0)
                {
                    unmatched.Add(b.Source + " → " + b.Target);
                    continue;
                }
                int slot = targets.IndexOf(t);
                if (slot < 0)
                {
                    slot = targets.Count;
                    targets.Add(t);
                }
                sources.Add(s);
                slots.Add(slot);
                scales.Add(b.Scale);
            }
            return new BlendShapeMapping(sources.ToArray(), slots.ToArray(), scales.ToArray(), targets.ToArray(), unmatched.ToArray(), maxWeight);
        }

        /// <summary>
        /// Computes the target weights of one frame: output[k] is the weight (0..MaxWeight) of mesh
        /// blend shape TargetIndices[k]. <paramref name="output"/> must hold TargetIndices.Length values.
        /// </summary>
        public void Apply(float[] sourceWeights, float[] output)
        {
            if (output == null || output.Length < TargetIndices.Length) throw new ArgumentException("output must hold TargetIndices.Length weights", "output");
            Array.Clear(output, 0, TargetIndices.Length);
            for (int k = 0; k < _source.Length; k++)
            {
                int s = _source[k];
                if (s < sourceWeights.Length) output[_slot[k]] += sourceWeights[s] * _scale[k];
            }
            for (int k = 0; k < TargetIndices.Length; k++) output[k] = LipMath.Clamp(output[k], 0f, MaxWeight);
        }
    }
}
