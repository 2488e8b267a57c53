// Asset that says which mesh blend shapes the server's weights drive, and how strongly.
using System.Collections.Generic;
using Text2Lips.Core;
using UnityEngine;

namespace Text2Lips
{
    /// <summary>
    /// Bindings from the server's weight names (ARKit mouth shapes, <c>viseme_*</c>) to a mesh's
    /// blend-shape names, with a scale each (Unity's 0..100 at weight 1). Create one per avatar
    /// rig from a preset, then press "Auto-match from mesh" in its inspector.
    /// </summary>
    [CreateAssetMenu(menuName = "Text2Lips/Blend Shape Map", fileName = "BlendShapeMap")]
    public sealed class BlendShapeMap : ScriptableObject
    {
        [Tooltip("Naming convention of the avatar; Auto-match looks for this preset's names.")]
        [SerializeField] MouthRigPreset preset = MouthRigPreset.ReadyPlayerMe;

        [Tooltip("Server weight → mesh blend shape, with the weight (0..100) reached at 1.")]
        [SerializeField] List<BlendShapeBinding> bindings = new List<BlendShapeBinding>();

        /// <summary>The naming convention Auto-match uses.</summary>
        public MouthRigPreset Preset
        {
            get { return preset; }
            set { preset = value; }
        }

        /// <summary>The bindings (edited in the inspector or by <see cref="AutoMatch"/>).</summary>
        public List<BlendShapeBinding> Bindings
        {
            get { return bindings; }
        }

        /// <summary>Replaces the bindings with the preset's entries bound to the best-matching
        /// names of <paramref name="meshBlendShapeNames"/>. Returns how many were bound.</summary>
        public int AutoMatch(IList<string> meshBlendShapeNames)
        {
            bindings = BlendShapeNames.AutoMatch(meshBlendShapeNames, MouthRigPresets.Get(preset));
            return bindings.Count;
        }

        /// <summary>The blend-shape names of a mesh, in index order.</summary>
        public static List<string> NamesOf(Mesh mesh)
        {
            var names = new List<string>();
            if (mesh == null) return names;
            for (int i = 0; i < mesh.blendShapeCount; i++) names.Add(mesh.GetBlendShapeName(i));
            return names;
        }

        /// <summary>A new, unsaved map for a preset, matched against a mesh when one is given.</summary>
        public static BlendShapeMap Create(MouthRigPreset preset, Mesh mesh = null)
        {
            var map = CreateInstance<BlendShapeMap>();
            map.preset = preset;
            if (mesh != null) map.AutoMatch(NamesOf(mesh));
            return map;
        }
    }
}
