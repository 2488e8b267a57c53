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
    }
    public class Component : Object
    {
        public T GetComponent<T>() { return default(T); }
    }
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
    public class Renderer : Component { }
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
        public class DisabledScope : IDisposable
        {
            public DisabledScope(bool disabled) { }
            public void Dispose() { }
        }
    }
    public static class Undo { public static void RecordObject(Object objectToUndo, string name) { } }
    public static class EditorUtility { public static void SetDirty(Object target) { } }
}
