// Inspector of BlendShapeMap: pick a mesh, press "Auto-match from mesh", review the bindings.
using System.Collections.Generic;
using Text2Lips.Core;
using UnityEditor;
using UnityEngine;

namespace Text2Lips.Editor
{
    /// <summary>Adds "Auto-match from mesh" to <see cref="BlendShapeMap"/>'s inspector.</summary>
    [CustomEditor(typeof(BlendShapeMap))]
    public sealed class BlendShapeMapEditor : UnityEditor.Editor
    {
        // Not serialized into the asset: only a source of names for matching.
        SkinnedMeshRenderer _renderer;
        Mesh _mesh;
        string _report;

        /// <summary>Draws the default fields, then the matching tools.</summary>
        public override void OnInspectorGUI()
        {
            DrawDefaultInspector();
            var map = (BlendShapeMap)target;

            EditorGUILayout.Space();
            EditorGUILayout.LabelField("Auto-match", EditorStyles.boldLabel);
            _renderer = (SkinnedMeshRenderer)EditorGUILayout.ObjectField("From renderer", _renderer, typeof(SkinnedMeshRenderer), true);
            _mesh = (Mesh)EditorGUILayout.ObjectField("Or from mesh", _mesh, typeof(Mesh), false);
            Mesh mesh = _renderer != null ? _renderer.sharedMesh : _mesh;

            using (new EditorGUI.DisabledScope(mesh == null))
            {
                if (GUILayout.Button("Auto-match from mesh"))
                {
                    List<string> names = BlendShapeMap.NamesOf(mesh);
                    Undo.RecordObject(map, "Auto-match blend shapes");
                    int bound = map.AutoMatch(names);
                    EditorUtility.SetDirty(map);
                    _report = "Bound " + bound + " of " + MouthRigPresets.Get(map.Preset).Count + " " + map.Preset
                        + " weights to " + mesh.name + " (" + names.Count + " blend shapes).";
                }
            }
            if (mesh == null)
                EditorGUILayout.HelpBox("Pick the avatar's face renderer or mesh, then match its blend-shape names to the " + map.Preset + " preset.", MessageType.Info);
            if (!string.IsNullOrEmpty(_report))
                EditorGUILayout.HelpBox(_report, MessageType.None);
        }
    }
}
