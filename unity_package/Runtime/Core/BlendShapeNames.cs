// Matching our blend-shape names (ARKit, visemes) to whatever a mesh calls its shapes.
using System;
using System.Collections.Generic;
using System.Text;

namespace Text2Lips.Core
{
    /// <summary>How well a mesh blend-shape name matches a wanted name.</summary>
    public enum NameMatch
    {
        /// <summary>Different shapes.</summary>
        None = 0,
        /// <summary>The wanted name ends the mesh name after a prefix ("blendShape1.jawOpen").</summary>
        Suffix = 1,
        /// <summary>Same words ("jaw_open" for "jawOpen", "mouthSmile_L" for "mouthSmileLeft").</summary>
        Exact = 2,
    }

    /// <summary>
    /// Case-, separator- and prefix-insensitive blend-shape name matching. Names are split into
    /// words at separators (_ - . space), lower→upper case changes and acronym ends; single
    /// "L"/"R" words read as "left"/"right". A mesh name matches a wanted name when their words
    /// are the same, or when the wanted words end the mesh name after whole prefix words, so
    /// "Fcl_MTH_A" matches "A" but "mouthSmileLeft" does not match "mouthLeft".
    /// </summary>
    public static class BlendShapeNames
    {
        /// <summary>The lower-case words of a name, "L"/"R" expanded: "mouthSmile_L" → mouth, smile, left.</summary>
        public static List<string> Words(string name)
        {
            var words = new List<string>();
            if (string.IsNullOrEmpty(name)) return words;
            var current = new StringBuilder();
            for (int i = 0; i < name.Length; i++)
            {
                char c = name[i];
                if (!char.IsLetterOrDigit(c))
                {
                    Flush(current, words);
                    continue;
                }
                if (current.Length > 0 && char.IsUpper(c))
                {
                    char prev = name[i - 1];
                    bool nextLower = i + 1 < name.Length && char.IsLower(name[i + 1]);
                    // "jawOpen" splits before O; "ARKitJaw" splits before K (an acronym's end).
                    if (char.IsLower(prev) || char.IsDigit(prev) || (char.IsUpper(prev) && nextLower)) Flush(current, words);
                }
                current.Append(char.ToLowerInvariant(c));
            }
            Flush(current, words);
            return words;
        }

        static void Flush(StringBuilder current, List<string> words)
        {
            if (current.Length == 0) return;
            string w = current.ToString();
            if (w == "l") w = "left";
            else if (w == "r") w = "right";
            words.Add(w);
            current.Length = 0;
        }

        /// <summary>How <paramref name="meshName"/> matches <paramref name="wanted"/>.</summary>
        public static NameMatch Match(string meshName, string wanted)
        {
            List<string> mesh = Words(meshName), want = Words(wanted);
            if (want.Count == 0 || mesh.Count == 0) return NameMatch.None;
            string joinedWant = string.Concat(want.ToArray());
            // Compare the concatenated words so "jawopen" still equals "jawOpen"; a suffix must
            // start at a word boundary of the mesh name.
            var tail = new StringBuilder();
            for (int start = mesh.Count - 1; start >= 0; start--)
            {
                tail.Insert(0, mesh[start]);
                if (tail.Length > joinedWant.Length) break;
                if (tail.Length == joinedWant.Length && tail.ToString() == joinedWant)
                    return start == 0 ? NameMatch.Exact : NameMatch.Suffix;
            }
            return NameMatch.None;
        }

        /// <summary>
        /// Index in <paramref name="meshNames"/> of the best match for the first alias that matches
        /// anything (aliases are tried in order, most specific first); exact beats suffix, then the
        /// shorter mesh name wins. -1 when nothing matches.
        /// </summary>
        public static int FindBest(IList<string> meshNames, IList<string> aliases)
        {
            if (meshNames == null || aliases == null) return -1;
            for (int a = 0; a < aliases.Count; a++)
            {
                int best = -1;
                NameMatch bestMatch = NameMatch.None;
                for (int i = 0; i < meshNames.Count; i++)
                {
                    NameMatch m = Match(meshNames[i], aliases[a]);
                    if (m == NameMatch.None) continue;
                    if (m > bestMatch || (m == bestMatch && meshNames[i].Length < meshNames[best].Length))
                    {
                        best = i;
                        bestMatch = m;
                    }
                }
                if (best >= 0) return best;
            }
            return -1;
        }

        /// <summary>
        /// Binds each entry of a preset to the mesh blend shape that best matches one of its
        /// aliases. Entries with no match are left out.
        /// </summary>
        public static List<BlendShapeBinding> AutoMatch(IList<string> meshNames, IList<PresetEntry> preset)
        {
            var result = new List<BlendShapeBinding>();
            if (preset == null) return result;
            foreach (PresetEntry e in preset)
            {
                int i = FindBest(meshNames, e.Aliases);
                if (i >= 0) result.Add(new BlendShapeBinding(e.Source, meshNames[i], e.Scale));
            }
            return result;
        }
    }
}
