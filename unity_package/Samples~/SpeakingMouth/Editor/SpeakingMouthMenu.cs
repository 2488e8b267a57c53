// Sample menu: one click from import to a speaking mouth in a fresh scene.
using UnityEditor;
using UnityEditor.SceneManagement;
using UnityEngine;

namespace Text2Lips.Samples.Editor
{
    /// <summary>Tools → Text2Lips → Speaking Mouth Demo: a new scene with the demo, then Play.</summary>
    static class SpeakingMouthMenu
    {
        [MenuItem("Tools/Text2Lips/Speaking Mouth Demo")]
        static void Open()
        {
            if (!EditorSceneManager.SaveCurrentModifiedScenesIfUserWantsTo()) return;
            EditorSceneManager.NewScene(NewSceneSetup.EmptyScene, NewSceneMode.Single);
            var demo = new GameObject("Speaking Mouth").AddComponent<SpeakingMouthDemo>();
            foreach (string guid in AssetDatabase.FindAssets("t:BakedLipClip greeting"))
            {
                demo.Fallback = AssetDatabase.LoadAssetAtPath<BakedLipClip>(AssetDatabase.GUIDToAssetPath(guid));
                break;
            }
            EditorApplication.isPlaying = true;
        }
    }
}
