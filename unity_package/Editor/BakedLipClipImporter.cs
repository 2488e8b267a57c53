// Imports .t2lb files written by `text2lips bake` as BakedLipClip assets.
using System;
using System.IO;
using UnityEditor.AssetImporters;

namespace Text2Lips.Editor
{
    /// <summary>
    /// Drop a <c>.t2lb</c> from <c>text2lips bake -o DIR</c> into Assets and it becomes a
    /// <see cref="BakedLipClip"/>: add it to a LipSyncAvatar's Baked Clips and
    /// <c>SpeakLine(id)</c> plays it with no sidecar. A malformed file is an import error saying why.
    /// </summary>
    [ScriptedImporter(1, "t2lb")]
    public sealed class BakedLipClipImporter : ScriptedImporter
    {
        /// <summary>Reads the file and makes the asset.</summary>
        public override void OnImportAsset(AssetImportContext ctx)
        {
            BakedLipClip clip;
            try
            {
                clip = BakedLipClip.FromBytes(File.ReadAllBytes(ctx.assetPath));
            }
            catch (FormatException e)
            {
                ctx.LogImportError(ctx.assetPath + ": " + e.Message);
                return;
            }
            ctx.AddObjectToAsset("clip", clip);
            ctx.SetMainObject(clip);
        }
    }
}
