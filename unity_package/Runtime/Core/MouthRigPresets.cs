// Which mesh blend shapes our weights drive on common avatar rigs.
using System;
using System.Collections.Generic;

namespace Text2Lips.Core
{
    /// <summary>Avatar conventions with a ready-made mapping.</summary>
    public enum MouthRigPreset
    {
        /// <summary>Apple ARKit's 52 face shapes (we drive the 18 mouth ones): jawOpen, mouthSmileLeft, ...</summary>
        ARKit = 0,
        /// <summary>VRM / VRoid: the five vowel shapes (Fcl_MTH_A ... or VRM 1.0's aa, ih, ou, ee, oh).</summary>
        VRM = 1,
        /// <summary>Ready Player Me (and VRChat): the 15 Oculus visemes, viseme_sil ... viseme_ou.</summary>
        ReadyPlayerMe = 2,
    }

    /// <summary>One source weight of a preset and the mesh names it may go by, most specific first.</summary>
    public sealed class PresetEntry
    {
        /// <summary>Creates an entry.</summary>
        public PresetEntry(string source, float scale, params string[] aliases)
        {
            Source = source;
            Scale = scale;
            Aliases = aliases;
        }

        /// <summary>Our weight's name, as in ModelInfo.blendshape_names.</summary>
        public string Source { get; private set; }
        /// <summary>Blend-shape weight (Unity's 0..100) at a source weight of 1.</summary>
        public float Scale { get; private set; }
        /// <summary>Mesh names to look for, most specific first.</summary>
        public string[] Aliases { get; private set; }
    }

    /// <summary>A source weight bound to a mesh blend shape by name, with its scale.</summary>
    [Serializable]
    public sealed class BlendShapeBinding
    {
        /// <summary>An empty binding with scale 100 (for serializers).</summary>
        public BlendShapeBinding() : this("", "", 100f) { }

        /// <summary>Creates a binding.</summary>
        public BlendShapeBinding(string source, string target, float scale)
        {
            Source = source;
            Target = target;
            Scale = scale;
        }

        /// <summary>Our weight's name, as in ModelInfo.blendshape_names.</summary>
        public string Source;
        /// <summary>The mesh's blend-shape name.</summary>
        public string Target;
        /// <summary>Blend-shape weight (Unity's 0..100) at a source weight of 1.</summary>
        public float Scale;
    }

    /// <summary>The preset tables.</summary>
    public static class MouthRigPresets
    {
        /// <summary>ARKit mouth shapes, in the order the server sends them.</summary>
        public static readonly string[] ARKitMouth =
        {
            "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
            "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
            "mouthRollLower", "mouthRollUpper", "mouthPressLeft", "mouthPressRight",
            "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
        };

        /// <summary>The Oculus visemes without their "viseme_" prefix, in the order the server sends them.</summary>
        public static readonly string[] Visemes =
        {
            "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou",
        };

        /// <summary>The entries of a preset.</summary>
        public static IList<PresetEntry> Get(MouthRigPreset preset)
        {
            var list = new List<PresetEntry>();
            switch (preset)
            {
                case MouthRigPreset.ARKit:
                    // "mouthSmile_L", "MouthSmileLeft", "blendShape1.mouthSmileLeft" all match by words.
                    foreach (string n in ARKitMouth) list.Add(new PresetEntry(n, 100f, n));
                    break;
                case MouthRigPreset.VRM:
                    // VRoid meshes name vowels Fcl_MTH_A..O; VRM 1.0 expressions are aa ih ou ee oh;
                    // VRM 0.x blend-shape clips are A I U E O.
                    list.Add(new PresetEntry("viseme_aa", 100f, "Fcl_MTH_A", "MTH_A", "aa", "A"));
                    list.Add(new PresetEntry("viseme_ih", 100f, "Fcl_MTH_I", "MTH_I", "ih", "I"));
                    list.Add(new PresetEntry("viseme_ou", 100f, "Fcl_MTH_U", "MTH_U", "ou", "U"));
                    list.Add(new PresetEntry("viseme_E", 100f, "Fcl_MTH_E", "MTH_E", "ee", "E"));
                    list.Add(new PresetEntry("viseme_oh", 100f, "Fcl_MTH_O", "MTH_O", "oh", "O"));
                    break;
                case MouthRigPreset.ReadyPlayerMe:
                    // VRChat avatars call the same shapes vrc.v_aa, ...: "v_aa" matches them as a suffix.
                    foreach (string v in Visemes) list.Add(new PresetEntry("viseme_" + v, 100f, "viseme_" + v, "v_" + v));
                    break;
                default:
                    throw new ArgumentOutOfRangeException("preset", preset, "unknown preset");
            }
            return list;
        }
    }
}
