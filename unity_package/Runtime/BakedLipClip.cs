// A baked line as a Unity asset: the .t2lb bytes, imported by BakedLipClipImporter or made at run time.
using System;
using Text2Lips.Core;
using UnityEngine;

namespace Text2Lips
{
    /// <summary>
    /// One line baked by <c>text2lips bake</c> (a <c>.t2lb</c> file dropped into Assets becomes
    /// one of these): lips, weights, timeline and voice in one asset that plays with no sidecar,
    /// on every platform including WebGL. Give it to <see cref="LipSyncAvatar"/>'s Baked Clips;
    /// <see cref="LipSyncAvatar.SpeakLine"/> then plays it instead of asking the sidecar.
    /// </summary>
    public sealed class BakedLipClip : ScriptableObject
    {
        [SerializeField, HideInInspector] byte[] data = new byte[0];
        [SerializeField] string lineId = "";
        [SerializeField, TextArea] string text = "";
        [NonSerialized] BakedLine _line;

        /// <summary>The line id (the CSV's id column).</summary>
        public string LineId { get { return lineId; } }

        /// <summary>What is said.</summary>
        public string Text { get { return text; } }

        /// <summary>The parsed line (parsed once, on first use).</summary>
        public BakedLine Line
        {
            get
            {
                if (_line == null) _line = BakedLine.Read(data);
                return _line;
            }
        }

        /// <summary>A clip from <c>.t2lb</c> bytes; <see cref="FormatException"/> when they are not one.</summary>
        public static BakedLipClip FromBytes(byte[] bytes)
        {
            BakedLine line = BakedLine.Read(bytes); // refuse bad data before making an asset
            var clip = CreateInstance<BakedLipClip>();
            clip.data = bytes;
            clip.lineId = line.Id;
            clip.text = line.Text;
            clip.name = line.Id;
            clip._line = line;
            return clip;
        }
    }
}
