// Compile-only stand-ins for the UnityEngine/UnityEditor API our glue uses, so the glue is
// type-checked with Mono here. Signatures follow the Unity 2021.3 scripting reference; no bodies.
#pragma warning disable 1591, 0067
using System;
using System.Collections;

namespace UnityEngine
{
    public class Object
    {
        public string name { get; set; }
        public static implicit operator bool(Object o) { return !ReferenceEquals(o, null); }
        public static void Destroy(Object obj) { }
        public static T Instantiate<T>(T original) where T : Object { return original; }
    }
    public class Component : Object
    {
        public GameObject gameObject { get { return null; } }
        public Transform transform { get { return null; } }
        public T GetComponent<T>() { return default(T); }
    }
    public sealed class GameObject : Object
    {
        public GameObject(string name) { }
        public Transform transform { get { return null; } }
        public T AddComponent<T>() where T : Component { return null; }
        public T GetComponent<T>() { return default(T); }
    }
    public class Transform : Component
    {
        public Vector3 position { get; set; }
        public Vector3 localPosition { get; set; }
        public Vector3 localScale { get; set; }
        public Transform parent { get; set; }
        public void SetParent(Transform parent, bool worldPositionStays) { }
        public Vector3 TransformPoint(Vector3 position) { return position; }
    }
    public struct Vector3
    {
        public float x, y, z;
        public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; }
        public static Vector3 zero { get { return new Vector3(0, 0, 0); } }
        public static Vector3 one { get { return new Vector3(1, 1, 1); } }
        public static Vector3 operator +(Vector3 a, Vector3 b) { return new Vector3(a.x + b.x, a.y + b.y, a.z + b.z); }
        public static Vector3 operator -(Vector3 a, Vector3 b) { return new Vector3(a.x - b.x, a.y - b.y, a.z - b.z); }
        public static Vector3 operator *(Vector3 a, float d) { return new Vector3(a.x * d, a.y * d, a.z * d); }
    }
    public struct Color
    {
        public float r, g, b, a;
        public Color(float r, float g, float b, float a) { this.r = r; this.g = g; this.b = b; this.a = a; }
        public Color(float r, float g, float b) : this(r, g, b, 1f) { }
    }
    public class Shader : Object
    {
        public static Shader Find(string name) { return null; }
    }
    public class Material : Object
    {
        public Material(Shader shader) { }
        public Color color { get; set; }
    }
    public enum LineAlignment { View = 0, TransformZ = 1 }
    public sealed class LineRenderer : Renderer
    {
        public int positionCount { get; set; }
        public bool loop { get; set; }
        public bool useWorldSpace { get; set; }
        public float widthMultiplier { get; set; }
        public Color startColor { get; set; }
        public Color endColor { get; set; }
        public LineAlignment alignment { get; set; }
        public void SetPosition(int index, Vector3 position) { }
        public void SetPositions(Vector3[] positions) { }
    }
    public class Camera : Behaviour
    {
        public static Camera main { get { return null; } }
        public bool orthographic { get; set; }
        public float orthographicSize { get; set; }
        public Color backgroundColor { get; set; }
    }
    public class AudioBehaviour : Behaviour { }
    public sealed class AudioClip : Object
    {
        public delegate void PCMReaderCallback(float[] data);
        public delegate void PCMSetPositionCallback(int position);
        public static AudioClip Create(string name, int lengthSamples, int channels, int frequency, bool stream) { return new AudioClip(); }
        public static AudioClip Create(string name, int lengthSamples, int channels, int frequency, bool stream, PCMReaderCallback pcmreadercallback) { return new AudioClip(); }
        public bool SetData(float[] data, int offsetSamples) { return true; }
        public bool GetData(float[] data, int offsetSamples) { return true; }
        public int samples { get { return 0; } }
        public int frequency { get { return 0; } }
        public int channels { get { return 0; } }
        public float length { get { return 0; } }
    }
    public sealed class AudioSource : AudioBehaviour
    {
        public AudioClip clip { get; set; }
        public bool loop { get; set; }
        public bool playOnAwake { get; set; }
        public int timeSamples { get; set; }
        public float time { get; set; }
        public float volume { get; set; }
        public float spatialBlend { get; set; }
        public bool isPlaying { get { return false; } }
        public void Play() { }
        public void Play(ulong delay) { }
        public void PlayScheduled(double time) { }
        public void Pause() { }
        public void UnPause() { }
        public void Stop() { }
    }
    public sealed class AudioSettings
    {
        public static double dspTime { get { return 0; } }
        public static int outputSampleRate { get { return 48000; } }
        public static void GetDSPBufferSize(out int bufferLength, out int numBuffers) { bufferLength = 1024; numBuffers = 4; }
    }
    public enum RuntimeInitializeLoadType { AfterSceneLoad = 0, BeforeSceneLoad = 1, AfterAssembliesLoaded = 2, BeforeSplashScreen = 3, SubsystemRegistration = 4 }
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
    public class RuntimeInitializeOnLoadMethodAttribute : Attribute
    {
        public RuntimeInitializeOnLoadMethodAttribute() { }
        public RuntimeInitializeOnLoadMethodAttribute(RuntimeInitializeLoadType loadType) { }
    }
    [AttributeUsage(AttributeTargets.Class)]
    public class DefaultExecutionOrder : Attribute
    {
        public DefaultExecutionOrder(int order) { }
        public int order { get { return 0; } }
    }
    public sealed class HideInInspector : Attribute { }
    public class Behaviour : Component
    {
        public bool enabled { get; set; }
        public bool isActiveAndEnabled { get { return true; } }
    }
    public class MonoBehaviour : Behaviour { }
    public class ScriptableObject : Object
    {
        public static T CreateInstance<T>() where T : ScriptableObject { return null; }
    }
    public class Mesh : Object
    {
        public int blendShapeCount { get { return 0; } }
        public string GetBlendShapeName(int shapeIndex) { return null; }
        public int GetBlendShapeIndex(string blendShapeName) { return -1; }
    }
    public class Renderer : Component
    {
        public Material material { get; set; }
        public Material sharedMaterial { get; set; }
    }
    public class SkinnedMeshRenderer : Renderer
    {
        public Mesh sharedMesh { get; set; }
        public void SetBlendShapeWeight(int index, float value) { }
        public float GetBlendShapeWeight(int index) { return 0; }
    }
    public static class Time
    {
        public static float deltaTime { get { return 0; } }
        public static float unscaledDeltaTime { get { return 0; } }
    }
    public static class Mathf
    {
        public static float Max(float a, float b) { return a > b ? a : b; }
        public static int Max(int a, int b) { return a > b ? a : b; }
    }
    public static class Debug
    {
        public static void Log(object message, Object context) { }
        public static void LogWarning(object message, Object context) { }
        public static void LogError(object message, Object context) { }
    }
    public class YieldInstruction { }
    public sealed class WaitForSeconds : YieldInstruction { public WaitForSeconds(float seconds) { } }
    public abstract class CustomYieldInstruction : IEnumerator
    {
        public abstract bool keepWaiting { get; }
        public object Current { get { return null; } }
        public bool MoveNext() { return keepWaiting; }
        public void Reset() { }
    }
    public sealed class WaitWhile : CustomYieldInstruction
    {
        public WaitWhile(Func<bool> predicate) { }
        public override bool keepWaiting { get { return false; } }
    }
    public class PropertyAttribute : Attribute { }
    public sealed class SerializeField : Attribute { }
    public sealed class HeaderAttribute : PropertyAttribute { public HeaderAttribute(string header) { } }
    public sealed class TooltipAttribute : PropertyAttribute { public TooltipAttribute(string tooltip) { } }
    public sealed class TextAreaAttribute : PropertyAttribute { }
    public sealed class MinAttribute : PropertyAttribute { public MinAttribute(float min) { } }
    public sealed class AddComponentMenu : Attribute { public AddComponentMenu(string menuName) { } }
    public sealed class DisallowMultipleComponent : Attribute { }
    public sealed class CreateAssetMenuAttribute : Attribute
    {
        public string menuName { get; set; }
        public string fileName { get; set; }
    }
    public static class GUILayout
    {
        public static bool Button(string text, params GUILayoutOption[] options) { return false; }
    }
    public sealed class GUILayoutOption { }
    public sealed class GUIStyle { }
}

namespace UnityEngine.Scripting
{
    [AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Enum | AttributeTargets.Constructor | AttributeTargets.Method | AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Event | AttributeTargets.Interface | AttributeTargets.Delegate, Inherited = false)]
    public class PreserveAttribute : Attribute { }
}

namespace UnityEngine.Events
{
    public class UnityEvent
    {
        public void AddListener(UnityEngine.Events.UnityAction call) { }
        public void Invoke() { }
    }
    public delegate void UnityAction();
    public delegate void UnityAction<T0>(T0 arg0);
    public abstract class UnityEvent<T0>
    {
        public void AddListener(UnityAction<T0> call) { }
        public void Invoke(T0 arg0) { }
    }
}

namespace UnityEditor
{
    using UnityEngine;
    public class Editor : ScriptableObject
    {
        public Object target { get; set; }
        public virtual void OnInspectorGUI() { }
        public bool DrawDefaultInspector() { return true; }
    }
    public sealed class CustomEditor : Attribute { public CustomEditor(Type inspectedType) { } }
    public enum MessageType { None, Info, Warning, Error }
    public static class EditorStyles { public static GUIStyle boldLabel { get { return null; } } }
    public static class EditorGUILayout
    {
        public static void Space() { }
        public static void LabelField(string label, GUIStyle style, params GUILayoutOption[] options) { }
        public static Object ObjectField(string label, Object obj, Type objType, bool allowSceneObjects, params GUILayoutOption[] options) { return obj; }
        public static void HelpBox(string message, MessageType type) { }
    }
    public static class EditorGUI
    {
        public struct DisabledScope : IDisposable
        {
            public DisabledScope(bool disabled) { }
            public void Dispose() { }
        }
    }
    public static class Undo { public static void RecordObject(Object objectToUndo, string name) { } }
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
    public sealed class MenuItem : Attribute
    {
        public MenuItem(string itemName) { }
        public MenuItem(string itemName, bool isValidateFunction) { }
        public MenuItem(string itemName, bool isValidateFunction, int priority) { }
    }
    public sealed class EditorApplication
    {
        public static bool isPlaying { get; set; }
    }
    public sealed class AssetDatabase
    {
        public static string[] FindAssets(string filter) { return new string[0]; }
        public static string GUIDToAssetPath(string guid) { return ""; }
        public static T LoadAssetAtPath<T>(string assetPath) where T : Object { return null; }
    }
    public static class EditorUtility { public static void SetDirty(Object target) { } }
}

namespace UnityEditor.AssetImporters
{
    using UnityEngine;
    public abstract class AssetImporter : Object { }
    public abstract class ScriptedImporter : AssetImporter
    {
        public abstract void OnImportAsset(AssetImportContext ctx);
    }
    public class AssetImportContext
    {
        public string assetPath { get { return ""; } }
        public void AddObjectToAsset(string identifier, Object obj) { }
        public void SetMainObject(Object obj) { }
        public void LogImportError(string msg, Object obj = null) { }
        public void LogImportWarning(string msg, Object obj = null) { }
    }
    [AttributeUsage(AttributeTargets.Class, Inherited = false)]
    public class ScriptedImporterAttribute : Attribute
    {
        public ScriptedImporterAttribute(int version, string ext) { }
        public ScriptedImporterAttribute(int version, string[] exts) { }
    }
}

namespace UnityEngine.SceneManagement
{
    public struct Scene { public string name { get { return ""; } } }
}

namespace UnityEditor.SceneManagement
{
    public enum NewSceneSetup { EmptyScene = 0, DefaultGameObjects = 1 }
    public enum NewSceneMode { Single = 0, Additive = 1 }
    public sealed class EditorSceneManager
    {
        public static UnityEngine.SceneManagement.Scene NewScene(NewSceneSetup setup, NewSceneMode mode = NewSceneMode.Single) { return default(UnityEngine.SceneManagement.Scene); }
        public static bool SaveCurrentModifiedScenesIfUserWantsTo() { return true; }
    }
}
