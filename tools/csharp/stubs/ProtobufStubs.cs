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
    public sealed class ByteString : IEquatable<ByteString>, IEnumerable<byte>
    {
        readonly byte[] _bytes;
        ByteString(byte[] bytes) { _bytes = bytes; }
        public static ByteString Empty { get { return new ByteString(new byte[0]); } }
        public int Length { get { return _bytes.Length; } }
        public bool IsEmpty { get { return _bytes.Length == 0; } }
        public byte this[int index] { get { return _bytes[index]; } }
        public byte[] ToByteArray() { return (byte[])_bytes.Clone(); }
        public static ByteString CopyFrom(params byte[] bytes) { return new ByteString((byte[])bytes.Clone()); }
        public static ByteString CopyFrom(byte[] bytes, int offset, int count) { var b = new byte[count]; Array.Copy(bytes, offset, b, 0, count); return new ByteString(b); }
        public bool Equals(ByteString other) { return other != null && other.Length == Length; }
        public override bool Equals(object obj) { return Equals(obj as ByteString); }
        public override int GetHashCode() { return Length; }
        public static bool operator ==(ByteString lhs, ByteString rhs) { return ReferenceEquals(lhs, rhs) || (!ReferenceEquals(lhs, null) && lhs.Equals(rhs)); }
        public static bool operator !=(ByteString lhs, ByteString rhs) { return !(lhs == rhs); }
        public IEnumerator<byte> GetEnumerator() { return ((IEnumerable<byte>)_bytes).GetEnumerator(); }
        IEnumerator IEnumerable.GetEnumerator() { return GetEnumerator(); }
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
        public double ReadDouble() { return default(double); }
        public float ReadFloat() { return default(float); }
        public int ReadInt32() { return default(int); }
        public long ReadInt64() { return default(long); }
        public uint ReadUInt32() { return default(uint); }
        public ulong ReadUInt64() { return default(ulong); }
        public int ReadSInt32() { return default(int); }
        public long ReadSInt64() { return default(long); }
        public uint ReadFixed32() { return default(uint); }
        public ulong ReadFixed64() { return default(ulong); }
        public int ReadSFixed32() { return default(int); }
        public long ReadSFixed64() { return default(long); }
        public bool ReadBool() { return default(bool); }
        public string ReadString() { return ""; }
        public ByteString ReadBytes() { return ByteString.Empty; }
        public int ReadEnum() { return default(int); }
        public void ReadMessage(IMessage builder) { }
        public void ReadRawMessage(IMessage message) { }
        public void Dispose() { }
    }
    public sealed class CodedOutputStream : IDisposable
    {
        public CodedOutputStream(byte[] flatArray) { }
        public static int ComputeStringSize(string value) { return 0; }
        public static int ComputeMessageSize(IMessage value) { return 0; }
        public static int ComputeLengthSize(int length) { return 0; }
        public static int ComputeTagSize(int fieldNumber) { return 0; }
        public static int ComputeDoubleSize(double value) { return 0; }
        public static int ComputeFloatSize(float value) { return 0; }
        public static int ComputeInt32Size(int value) { return 0; }
        public static int ComputeInt64Size(long value) { return 0; }
        public static int ComputeUInt32Size(uint value) { return 0; }
        public static int ComputeUInt64Size(ulong value) { return 0; }
        public static int ComputeSInt32Size(int value) { return 0; }
        public static int ComputeSInt64Size(long value) { return 0; }
        public static int ComputeFixed32Size(uint value) { return 0; }
        public static int ComputeFixed64Size(ulong value) { return 0; }
        public static int ComputeSFixed32Size(int value) { return 0; }
        public static int ComputeSFixed64Size(long value) { return 0; }
        public static int ComputeBoolSize(bool value) { return 0; }
        public static int ComputeBytesSize(ByteString value) { return 0; }
        public static int ComputeEnumSize(int value) { return 0; }
        public void WriteRawTag(byte b1) { }
        public void WriteRawTag(byte b1, byte b2) { }
        public void WriteRawTag(byte b1, byte b2, byte b3) { }
        public void WriteRawTag(byte b1, byte b2, byte b3, byte b4) { }
        public void WriteRawTag(byte b1, byte b2, byte b3, byte b4, byte b5) { }
        public void WriteDouble(double value) { }
        public void WriteFloat(float value) { }
        public void WriteInt32(int value) { }
        public void WriteInt64(long value) { }
        public void WriteUInt32(uint value) { }
        public void WriteUInt64(ulong value) { }
        public void WriteSInt32(int value) { }
        public void WriteSInt64(long value) { }
        public void WriteFixed32(uint value) { }
        public void WriteFixed64(ulong value) { }
        public void WriteSFixed32(int value) { }
        public void WriteSFixed64(long value) { }
        public void WriteBool(bool value) { }
        public void WriteString(string value) { }
        public void WriteBytes(ByteString value) { }
        public void WriteEnum(int value) { }
        public void WriteMessage(IMessage value) { }
        public void WriteRawMessage(IMessage value) { }
        public void Dispose() { }
    }
    public struct ParseContext
    {
        public uint ReadTag() { return 0; }
        public double ReadDouble() { return default(double); }
        public float ReadFloat() { return default(float); }
        public int ReadInt32() { return default(int); }
        public long ReadInt64() { return default(long); }
        public uint ReadUInt32() { return default(uint); }
        public ulong ReadUInt64() { return default(ulong); }
        public int ReadSInt32() { return default(int); }
        public long ReadSInt64() { return default(long); }
        public uint ReadFixed32() { return default(uint); }
        public ulong ReadFixed64() { return default(ulong); }
        public int ReadSFixed32() { return default(int); }
        public long ReadSFixed64() { return default(long); }
        public bool ReadBool() { return default(bool); }
        public string ReadString() { return ""; }
        public ByteString ReadBytes() { return ByteString.Empty; }
        public int ReadEnum() { return default(int); }
        public void ReadMessage(IMessage message) { }
        public void ReadGroup(IMessage message) { }
        public bool MaybeConsumeTag(uint tag) { return false; }
    }
    public struct WriteContext
    {
        public void WriteRawTag(byte b1) { }
        public void WriteRawTag(byte b1, byte b2) { }
        public void WriteRawTag(byte b1, byte b2, byte b3) { }
        public void WriteRawTag(byte b1, byte b2, byte b3, byte b4) { }
        public void WriteRawTag(byte b1, byte b2, byte b3, byte b4, byte b5) { }
        public void WriteDouble(double value) { }
        public void WriteFloat(float value) { }
        public void WriteInt32(int value) { }
        public void WriteInt64(long value) { }
        public void WriteUInt32(uint value) { }
        public void WriteUInt64(ulong value) { }
        public void WriteSInt32(int value) { }
        public void WriteSInt64(long value) { }
        public void WriteFixed32(uint value) { }
        public void WriteFixed64(ulong value) { }
        public void WriteSFixed32(int value) { }
        public void WriteSFixed64(long value) { }
        public void WriteBool(bool value) { }
        public void WriteString(string value) { }
        public void WriteBytes(ByteString value) { }
        public void WriteEnum(int value) { }
        public void WriteMessage(IMessage value) { }
    }
    public static class FieldCodec
    {
        public static FieldCodec<double> ForDouble(uint tag) { return new FieldCodec<double>(); }
        public static FieldCodec<double> ForDouble(uint tag, double defaultValue) { return new FieldCodec<double>(); }
        public static FieldCodec<float> ForFloat(uint tag) { return new FieldCodec<float>(); }
        public static FieldCodec<float> ForFloat(uint tag, float defaultValue) { return new FieldCodec<float>(); }
        public static FieldCodec<int> ForInt32(uint tag) { return new FieldCodec<int>(); }
        public static FieldCodec<int> ForInt32(uint tag, int defaultValue) { return new FieldCodec<int>(); }
        public static FieldCodec<long> ForInt64(uint tag) { return new FieldCodec<long>(); }
        public static FieldCodec<long> ForInt64(uint tag, long defaultValue) { return new FieldCodec<long>(); }
        public static FieldCodec<uint> ForUInt32(uint tag) { return new FieldCodec<uint>(); }
        public static FieldCodec<uint> ForUInt32(uint tag, uint defaultValue) { return new FieldCodec<uint>(); }
        public static FieldCodec<ulong> ForUInt64(uint tag) { return new FieldCodec<ulong>(); }
        public static FieldCodec<ulong> ForUInt64(uint tag, ulong defaultValue) { return new FieldCodec<ulong>(); }
        public static FieldCodec<int> ForSInt32(uint tag) { return new FieldCodec<int>(); }
        public static FieldCodec<int> ForSInt32(uint tag, int defaultValue) { return new FieldCodec<int>(); }
        public static FieldCodec<long> ForSInt64(uint tag) { return new FieldCodec<long>(); }
        public static FieldCodec<long> ForSInt64(uint tag, long defaultValue) { return new FieldCodec<long>(); }
        public static FieldCodec<uint> ForFixed32(uint tag) { return new FieldCodec<uint>(); }
        public static FieldCodec<uint> ForFixed32(uint tag, uint defaultValue) { return new FieldCodec<uint>(); }
        public static FieldCodec<ulong> ForFixed64(uint tag) { return new FieldCodec<ulong>(); }
        public static FieldCodec<ulong> ForFixed64(uint tag, ulong defaultValue) { return new FieldCodec<ulong>(); }
        public static FieldCodec<int> ForSFixed32(uint tag) { return new FieldCodec<int>(); }
        public static FieldCodec<int> ForSFixed32(uint tag, int defaultValue) { return new FieldCodec<int>(); }
        public static FieldCodec<long> ForSFixed64(uint tag) { return new FieldCodec<long>(); }
        public static FieldCodec<long> ForSFixed64(uint tag, long defaultValue) { return new FieldCodec<long>(); }
        public static FieldCodec<bool> ForBool(uint tag) { return new FieldCodec<bool>(); }
        public static FieldCodec<bool> ForBool(uint tag, bool defaultValue) { return new FieldCodec<bool>(); }
        public static FieldCodec<string> ForString(uint tag) { return new FieldCodec<string>(); }
        public static FieldCodec<string> ForString(uint tag, string defaultValue) { return new FieldCodec<string>(); }
        public static FieldCodec<ByteString> ForBytes(uint tag) { return new FieldCodec<ByteString>(); }
        public static FieldCodec<ByteString> ForBytes(uint tag, ByteString defaultValue) { return new FieldCodec<ByteString>(); }
        public static FieldCodec<T> ForEnum<T>(uint tag, Func<T, int> toInt32, Func<int, T> fromInt32) { return new FieldCodec<T>(); }
        public static FieldCodec<T> ForEnum<T>(uint tag, Func<T, int> toInt32, Func<int, T> fromInt32, T defaultValue) { return new FieldCodec<T>(); }
        public static FieldCodec<T> ForMessage<T>(uint tag, MessageParser<T> parser) where T : class, IMessage<T> { return new FieldCodec<T>(); }
        public static FieldCodec<T?> ForStructWrapper<T>(uint tag) where T : struct { return new FieldCodec<T?>(); }
        public static FieldCodec<T> ForClassWrapper<T>(uint tag) where T : class { return new FieldCodec<T>(); }
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
        public static EqualityComparer<double?> BitwiseNullableDoubleEqualityComparer { get { return EqualityComparer<double?>.Default; } }
        public static EqualityComparer<float?> BitwiseNullableSingleEqualityComparer { get { return EqualityComparer<float?>.Default; } }
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

namespace Google.Protobuf.Collections
{
    using Google.Protobuf;

    public sealed class MapField<TKey, TValue> : IDictionary<TKey, TValue>, IEquatable<MapField<TKey, TValue>>, IDeepCloneable<MapField<TKey, TValue>>
    {
        public sealed class Codec
        {
            public Codec(FieldCodec<TKey> keyCodec, FieldCodec<TValue> valueCodec, uint mapTag) { }
        }
        readonly Dictionary<TKey, TValue> _map = new Dictionary<TKey, TValue>();
        public MapField<TKey, TValue> Clone() { var c = new MapField<TKey, TValue>(); foreach (var kv in _map) c._map[kv.Key] = kv.Value; return c; }
        public void Add(IDictionary<TKey, TValue> entries) { foreach (var kv in entries) _map[kv.Key] = kv.Value; }
        public void AddEntriesFrom(CodedInputStream input, Codec codec) { }
        public void AddEntriesFrom(ref ParseContext ctx, Codec codec) { }
        public void WriteTo(CodedOutputStream output, Codec codec) { }
        public void WriteTo(ref WriteContext ctx, Codec codec) { }
        public int CalculateSize(Codec codec) { return 0; }
        public void MergeFrom(IDictionary<TKey, TValue> entries) { Add(entries); }
        public bool Equals(MapField<TKey, TValue> other) { return other != null && other.Count == Count; }
        public override bool Equals(object obj) { return Equals(obj as MapField<TKey, TValue>); }
        public override int GetHashCode() { return Count; }
        public TValue this[TKey key] { get { return _map[key]; } set { _map[key] = value; } }
        public ICollection<TKey> Keys { get { return _map.Keys; } }
        public ICollection<TValue> Values { get { return _map.Values; } }
        public int Count { get { return _map.Count; } }
        public bool IsReadOnly { get { return false; } }
        public void Add(TKey key, TValue value) { _map.Add(key, value); }
        public bool ContainsKey(TKey key) { return _map.ContainsKey(key); }
        public bool Remove(TKey key) { return _map.Remove(key); }
        public bool TryGetValue(TKey key, out TValue value) { return _map.TryGetValue(key, out value); }
        public void Add(KeyValuePair<TKey, TValue> item) { _map.Add(item.Key, item.Value); }
        public void Clear() { _map.Clear(); }
        public bool Contains(KeyValuePair<TKey, TValue> item) { return ((ICollection<KeyValuePair<TKey, TValue>>)_map).Contains(item); }
        public void CopyTo(KeyValuePair<TKey, TValue>[] array, int arrayIndex) { ((ICollection<KeyValuePair<TKey, TValue>>)_map).CopyTo(array, arrayIndex); }
        public bool Remove(KeyValuePair<TKey, TValue> item) { return ((ICollection<KeyValuePair<TKey, TValue>>)_map).Remove(item); }
        public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator() { return _map.GetEnumerator(); }
        IEnumerator IEnumerable.GetEnumerator() { return GetEnumerator(); }
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
