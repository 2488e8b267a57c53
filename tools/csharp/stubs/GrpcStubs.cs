// Compile-only stand-ins for the parts of Grpc.Core.Api, Grpc.Net.Client and Cysharp's
// YetAnotherHttpHandler that the glue uses (signatures from their public APIs; Google.Protobuf
// is in ProtobufStubs.cs).
#pragma warning disable 1591, 0067
using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace Grpc.Core
{
    public enum MethodType { Unary, ClientStreaming, ServerStreaming, DuplexStreaming }
    public enum StatusCode { OK = 0, Cancelled = 1, Unknown = 2, InvalidArgument = 3, DeadlineExceeded = 4, NotFound = 5, AlreadyExists = 6, PermissionDenied = 7, Unauthenticated = 16, ResourceExhausted = 8, FailedPrecondition = 9, Aborted = 10, OutOfRange = 11, Unimplemented = 12, Internal = 13, Unavailable = 14, DataLoss = 15 }
    public struct Status
    {
        public StatusCode StatusCode { get { return StatusCode.OK; } }
        public string Detail { get { return ""; } }
    }
    public class RpcException : Exception
    {
        public Status Status { get { return default(Status); } }
        public StatusCode StatusCode { get { return Status.StatusCode; } }
    }
    public abstract class SerializationContext
    {
        public virtual void Complete(byte[] payload) { }
    }
    public abstract class DeserializationContext
    {
        public virtual int PayloadLength { get { return 0; } }
        public virtual byte[] PayloadAsNewBuffer() { return new byte[0]; }
    }
    public class Marshaller<T>
    {
        public Marshaller(Func<T, byte[]> serializer, Func<byte[], T> deserializer) { }
        public Marshaller(Action<T, SerializationContext> serializer, Func<DeserializationContext, T> deserializer) { }
    }
    public static class Marshallers
    {
        public static Marshaller<T> Create<T>(Func<T, byte[]> serializer, Func<byte[], T> deserializer) { return new Marshaller<T>(serializer, deserializer); }
        public static Marshaller<T> Create<T>(Action<T, SerializationContext> serializer, Func<DeserializationContext, T> deserializer) { return new Marshaller<T>(serializer, deserializer); }
    }
    public interface IMethod { }
    public class Method<TRequest, TResponse> : IMethod
    {
        public Method(MethodType type, string serviceName, string name, Marshaller<TRequest> requestMarshaller, Marshaller<TResponse> responseMarshaller) { }
    }
    public sealed class Metadata : IList<Metadata.Entry>
    {
        public sealed class Entry
        {
            public Entry(string key, string value) { Key = key; Value = value; }
            public string Key { get; private set; }
            public string Value { get; private set; }
        }
        readonly List<Entry> _entries = new List<Entry>();
        public void Add(string key, string value) { _entries.Add(new Entry(key, value)); }
        public void Add(Entry item) { _entries.Add(item); }
        public Entry this[int index] { get { return _entries[index]; } set { _entries[index] = value; } }
        public int Count { get { return _entries.Count; } }
        public bool IsReadOnly { get { return false; } }
        public int IndexOf(Entry item) { return _entries.IndexOf(item); }
        public void Insert(int index, Entry item) { _entries.Insert(index, item); }
        public void RemoveAt(int index) { _entries.RemoveAt(index); }
        public void Clear() { _entries.Clear(); }
        public bool Contains(Entry item) { return _entries.Contains(item); }
        public void CopyTo(Entry[] array, int arrayIndex) { _entries.CopyTo(array, arrayIndex); }
        public bool Remove(Entry item) { return _entries.Remove(item); }
        public IEnumerator<Entry> GetEnumerator() { return _entries.GetEnumerator(); }
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() { return GetEnumerator(); }
    }
    public sealed class WriteOptions { }
    public sealed class ContextPropagationToken { }
    public abstract class CallCredentials { }
    public struct CallOptions
    {
        public CallOptions(Metadata headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default(CancellationToken),
            WriteOptions writeOptions = null, ContextPropagationToken propagationToken = null, CallCredentials credentials = null) { }
    }
    public interface IAsyncStreamReader<out T>
    {
        T Current { get; }
        Task<bool> MoveNext(CancellationToken cancellationToken);
    }
    public sealed class AsyncServerStreamingCall<TResponse> : IDisposable
    {
        public IAsyncStreamReader<TResponse> ResponseStream { get { return null; } }
        public void Dispose() { }
    }
    public sealed class AsyncUnaryCall<TResponse> : IDisposable
    {
        public Task<TResponse> ResponseAsync { get { return null; } }
        public void Dispose() { }
    }
    public abstract class CallInvoker
    {
        public abstract AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string host, CallOptions options, TRequest request) where TRequest : class where TResponse : class;
        public abstract AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string host, CallOptions options, TRequest request) where TRequest : class where TResponse : class;
    }
}

namespace System.Net.Http
{
    // Mono's System.Net.Http assembly is not installed here; only the base type is needed.
    public abstract class HttpMessageHandler : IDisposable
    {
        public void Dispose() { }
    }
}

namespace Grpc.Net.Client
{
    public sealed class GrpcChannelOptions
    {
        public HttpMessageHandler HttpHandler { get; set; }
        public bool DisposeHttpClient { get; set; }
    }
    public sealed class GrpcChannel : IDisposable
    {
        public static GrpcChannel ForAddress(string address, GrpcChannelOptions channelOptions) { return null; }
        public Grpc.Core.CallInvoker CreateCallInvoker() { return null; }
        public void Dispose() { }
    }
}

namespace Cysharp.Net.Http
{
    public class YetAnotherHttpHandler : HttpMessageHandler
    {
        public bool? Http2Only { get; set; }
        public TimeSpan? Http2KeepAliveInterval { get; set; }
        public TimeSpan? Http2KeepAliveTimeout { get; set; }
        public bool? Http2KeepAliveWhileIdle { get; set; }
    }
}
