// Compile-only stand-ins for the Google.Protobuf 3.25 API that protoc's C# output
// (unity_package/Runtime/Generated/Lipsync.cs) and the glue use, so the real generated file is
// type-checked here. Types, members and generic constraints follow the library's public API;
// ParseContext/WriteContext are `ref struct`s there (Mono's mcs predates them: plain structs
// here, which the generated code uses the same way). Bodies do only what keeps callers honest:
// parsers return new messages, never null.
#pragma warning disable 1591, 0067
using System;
using System.Collections;
using System.Collections.Generic;

namespace Google.Protobuf
{
    public interface IDeepCloneable<T> { T Clone(); }
    public interface IMessage
    {
        void MergeFrom(CodedInputStream input);
        void WriteTo(CodedOutputStream output);
        int CalculateSize();
        Reflection.MessageDescriptor Descriptor { get; }
    }
    public interface IMessage<T> : IMessage, IEquatable<T>, IDeepCloneable<T> where T : IMessage<T>
    {
        void MergeFrom(T message);
    }
    public interface IBufferMessage : IMessage
    {
        void InternalMergeFrom(ref ParseContext ctx);
        void InternalWriteTo(ref WriteContext ctx);
    }
    public class MessageParser
    {
        internal MessageParser() { }
    }
    public class MessageParser<T> : MessageParser where T : IMessage<T>
    {
        readonly Func<T> _factory;
        public MessageParser(Func<T> factory) { _factory = factory; }
        public T ParseFrom(byte[] data) { T message = _factory(); return message; }
        public T ParseFrom(System.IO.Stream input) { return _factory(); }
        public T ParseFrom(ByteString data) { return _factory(); }
    }
    public sealed class ByteString
    {
        public int Length { get { return 0; } }
        public byte[] ToByteArray() { return new byte[0]; }
        public static ByteString CopyFrom(params byte[] bytes) { return new ByteString(); }
    }
    public static class MessageExtensions
    {
        public static byte[] ToByteArray(this IMessage message) { return new byte[0]; }
        public static void MergeFrom(this IMessage message, byte[] data) { }
    }
    public static class ProtoPreconditions
    {
        public static T CheckNotNull<T>(T value, string name) where T : class
        {
            if (value == null) throw new ArgumentNullException(name);
            return value;
        }
    }
    public sealed class JsonFormatter
    {
        public static string ToDiagnosticString(IMessage message) { return ""; }
    }
    public sealed class Extension { }
    public sealed class UnknownFieldSet
    {
        public void WriteTo(CodedOutputStream output) { }
        public void WriteTo(ref WriteContext ctx) { }
        public int CalculateSize() { return 0; }
        public static UnknownFieldSet MergeFieldFrom(UnknownFieldSet unknownFields, CodedInputStream input) { return unknownFields; }
        public static UnknownFieldSet MergeFieldFrom(UnknownFieldSet unknownFields, ref ParseContext ctx) { return unknownFields; }
        public static UnknownFieldSet MergeFrom(UnknownFieldSet unknownFields, UnknownFieldSet other) { return unknownFields; }
        public static UnknownFieldSet Clone(UnknownFieldSet other) { return other; }
    }
    public sealed class CodedInputStream : IDisposable
    {
        public CodedInputStream(byte[] buffer) { }
        public uint ReadTag() { return 0; }
        public double ReadDouble() { return 0; }
        public float ReadFloat() { return 0; }
        public uint ReadUInt32() { return 0; }
        public int ReadInt32() { return 0; }
        public bool ReadBool() { return false; }
        public string ReadString() { return ""; }
        public int ReadEnum() { return 0; }
        public void ReadMessage(IMessage builder) { }
        public void ReadRawMessage(IMessage message) { }
        public void Dispose() { }
    }
    public sealed class CodedOutputStream : IDisposable
    {
        public CodedOutputStream(byte[] flatArray) { }
        public static int ComputeStringSize(string value) { return 0; }
        public static int ComputeMessageSize(IMessage value) { return 0; }
        public static int ComputeUInt32Size(uint value) { return 0; }
        public static int ComputeInt32Size(int value) { return 0; }
        public static int ComputeEnumSize(int value) { return 0; }
        public void WriteRawTag(byte b1) { }
        public void WriteRawTag(byte b1, byte b2) { }
        public void WriteRawTag(byte b1, byte b2, byte b3) { }
        public void WriteDouble(double value) { }
        public void WriteFloat(float value) { }
        public void WriteUInt32(uint value) { }
        public void WriteInt32(int value) { }
        public void WriteBool(bool value) { }
        public void WriteString(string value) { }
        public void WriteEnum(int value) { }
        public void WriteMessage(IMessage value) { }
        public void WriteRawMessage(IMessage value) { }
        public void Dispose() { }
    }
    public struct ParseContext
    {
        public uint ReadTag() { return 0; }
        public double ReadDouble() { return 0; }
        public float ReadFloat() { return 0; }
        public uint ReadUInt32() { return 0; }
        public int ReadInt32() { return 0; }
        public bool ReadBool() { return false; }
        public string ReadString() { return ""; }
        public int ReadEnum() { return 0; }
        public void ReadMessage(IMessage message) { }
    }
    public struct WriteContext
    {
        public void WriteRawTag(byte b1) { }
        public void WriteRawTag(byte b1, byte b2) { }
        public void WriteRawTag(byte b1, byte b2, byte b3) { }
        public void WriteDouble(double value) { }
        public void WriteFloat(float value) { }
        public void WriteUInt32(uint value) { }
        public void WriteInt32(int value) { }
        public void WriteBool(bool value) { }
        public void WriteString(string value) { }
        public void WriteEnum(int value) { }
        public void WriteMessage(IMessage value) { }
    }
    public static class FieldCodec
    {
        public static FieldCodec<float> ForFloat(uint tag) { return new FieldCodec<float>(); }
        public static FieldCodec<uint> ForUInt32(uint tag) { return new FieldCodec<uint>(); }
        public static FieldCodec<string> ForString(uint tag) { return new FieldCodec<string>(); }
        public static FieldCodec<T> ForMessage<T>(uint tag, MessageParser<T> parser) where T : class, IMessage<T> { return new FieldCodec<T>(); }
    }
    public sealed class FieldCodec<T>
    {
        internal FieldCodec() { }
    }
}

namespace Google.Protobuf.Collections
{
    using Google.Protobuf;

    public static class ProtobufEqualityComparers
    {
        public static EqualityComparer<double> BitwiseDoubleEqualityComparer { get { return EqualityComparer<double>.Default; } }
        public static EqualityComparer<float> BitwiseSingleEqualityComparer { get { return EqualityComparer<float>.Default; } }
    }

    /// <summary>Like the real one: an IList&lt;T&gt; (not a List&lt;T&gt;), so List-only members do not compile.</summary>
    public sealed class RepeatedField<T> : IList<T>, IList, IDeepCloneable<RepeatedField<T>>, IEquatable<RepeatedField<T>>, IReadOnlyList<T>
    {
        readonly List<T> _items = new List<T>();
        public RepeatedField<T> Clone() { var c = new RepeatedField<T>(); c._items.AddRange(_items); return c; }
        public void AddEntriesFrom(CodedInputStream input, FieldCodec<T> codec) { }
        public void AddEntriesFrom(ref ParseContext ctx, FieldCodec<T> codec) { }
        public int CalculateSize(FieldCodec<T> codec) { return 0; }
        public void WriteTo(CodedOutputStream output, FieldCodec<T> codec) { }
        public void WriteTo(ref WriteContext ctx, FieldCodec<T> codec) { }
        public void Add(T item) { ProtoPreconditions.CheckNotNull((object)item, "item"); _items.Add(item); }
        public void Add(IEnumerable<T> values) { foreach (T v in values) Add(v); }
        public void AddRange(IEnumerable<T> values) { Add(values); }
        public void Clear() { _items.Clear(); }
        public bool Contains(T item) { return _items.Contains(item); }
        public void CopyTo(T[] array, int arrayIndex) { _items.CopyTo(array, arrayIndex); }
        public bool Remove(T item) { return _items.Remove(item); }
        public int Count { get { return _items.Count; } }
        public bool IsReadOnly { get { return false; } }
        public int IndexOf(T item) { return _items.IndexOf(item); }
        public void Insert(int index, T item) { _items.Insert(index, item); }
        public void RemoveAt(int index) { _items.RemoveAt(index); }
        public T this[int index] { get { return _items[index]; } set { _items[index] = value; } }
        public IEnumerator<T> GetEnumerator() { return _items.GetEnumerator(); }
        IEnumerator IEnumerable.GetEnumerator() { return GetEnumerator(); }
        public bool Equals(RepeatedField<T> other) { return other != null && other.Count == Count; }
        public override bool Equals(object obj) { return Equals(obj as RepeatedField<T>); }
        public override int GetHashCode() { return Count; }
        bool IList.IsFixedSize { get { return false; } }
        object IList.this[int index] { get { return this[index]; } set { this[index] = (T)value; } }
        int IList.Add(object value) { Add((T)value); return Count - 1; }
        bool IList.Contains(object value) { return value is T && Contains((T)value); }
        int IList.IndexOf(object value) { return value is T ? IndexOf((T)value) : -1; }
        void IList.Insert(int index, object value) { Insert(index, (T)value); }
        void IList.Remove(object value) { if (value is T) Remove((T)value); }
        void ICollection.CopyTo(Array array, int index) { ((ICollection)_items).CopyTo(array, index); }
        bool ICollection.IsSynchronized { get { return false; } }
        object ICollection.SyncRoot { get { return this; } }
    }
}

namespace Google.Protobuf.Reflection
{
    using Google.Protobuf;

    public sealed class MessageDescriptor { }
    public sealed class FileDescriptor
    {
        public IList<MessageDescriptor> MessageTypes { get { return new List<MessageDescriptor>(); } }
        public static FileDescriptor FromGeneratedCode(byte[] descriptorData, FileDescriptor[] dependencies, GeneratedClrTypeInfo generatedCodeInfo) { return new FileDescriptor(); }
    }
    public sealed class GeneratedClrTypeInfo
    {
        public GeneratedClrTypeInfo(Type clrType, MessageParser parser, string[] propertyNames, string[] oneofNames, Type[] nestedEnums, Extension[] extensions, GeneratedClrTypeInfo[] nestedTypes) { }
        public GeneratedClrTypeInfo(Type[] nestedEnums, Extension[] extensions, GeneratedClrTypeInfo[] nestedTypes) { }
    }
    [AttributeUsage(AttributeTargets.Field)]
    public sealed class OriginalNameAttribute : Attribute
    {
        public OriginalNameAttribute(string name) { }
        public bool PreferredAlias { get; set; }
    }
}
