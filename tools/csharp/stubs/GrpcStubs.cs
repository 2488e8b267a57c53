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
    public enum StatusCode { OK = 0, Cancelled = 1, Unknown = 2, InvalidArgument = 3, DeadlineExceeded = 4, ResourceExhausted = 8, Internal = 13, Unavailable = 14 }
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
    public class Marshaller<T> { }
    public static class Marshallers
    {
        public static Marshaller<T> Create<T>(Func<T, byte[]> serializer, Func<byte[], T> deserializer) { return null; }
    }
    public interface IMethod { }
    public class Method<TRequest, TResponse> : IMethod
    {
        public Method(MethodType type, string serviceName, string name, Marshaller<TRequest> requestMarshaller, Marshaller<TResponse> responseMarshaller) { }
    }
    public class Metadata { }
    public struct CallOptions
    {
        public CallOptions(Metadata headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default(CancellationToken)) { }
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
        public bool Http2Only { get; set; }
    }
}
