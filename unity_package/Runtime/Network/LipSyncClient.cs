// gRPC client of the text2lips sidecar over HTTP/2 cleartext (grpc-dotnet + YetAnotherHttpHandler).
using System;
using System.Threading;
using System.Threading.Tasks;
using Cysharp.Net.Http;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Text2Lips.V1;

namespace Text2Lips
{
    /// <summary>
    /// A thin client for the <c>text2lips.v1.LipSync</c> service. Unity has no HTTP/2 of its own,
    /// so the channel runs on Cysharp's YetAnotherHttpHandler with <c>Http2Only</c> (h2c, no TLS:
    /// the sidecar listens on loopback), with HTTP/2 keep-alive pings so a dead connection is
    /// noticed while idle. Avatars share one client per address through <see cref="LipSyncRemotes"/>.
    /// </summary>
    /// <remarks>
    /// No <c>grpc_csharp_plugin</c> output is shipped: the three RPCs we use are declared here with
    /// <see cref="Method{TRequest,TResponse}"/> and protobuf marshallers over the generated message
    /// classes in Runtime/Generated, which is all a generated client stub does.
    /// </remarks>
    public sealed class LipSyncClient : IDisposable
    {
        /// <summary>Where <c>make run</c> serves the sidecar.</summary>
        public const string DefaultAddress = "http://127.0.0.1:50051";

        const string ServiceName = "text2lips.v1.LipSync";

        static Marshaller<T> ProtoMarshaller<T>(MessageParser<T> parser) where T : IMessage<T>
        {
            return Marshallers.Create(m => m.ToByteArray(), parser.ParseFrom);
        }

        static readonly Method<SpeakRequest, LipFrame> SpeakMethod = new Method<SpeakRequest, LipFrame>(
            MethodType.ServerStreaming, ServiceName, "Speak",
            ProtoMarshaller(SpeakRequest.Parser), ProtoMarshaller(LipFrame.Parser));

        static readonly Method<SpeakVoicedRequest, VoicedEvent> SpeakVoicedMethod = new Method<SpeakVoicedRequest, VoicedEvent>(
            MethodType.ServerStreaming, ServiceName, "SpeakVoiced",
            ProtoMarshaller(SpeakVoicedRequest.Parser), ProtoMarshaller(VoicedEvent.Parser));

        static readonly Method<GetModelInfoRequest, ModelInfo> GetModelInfoMethod = new Method<GetModelInfoRequest, ModelInfo>(
            MethodType.Unary, ServiceName, "GetModelInfo",
            ProtoMarshaller(GetModelInfoRequest.Parser), ProtoMarshaller(ModelInfo.Parser));

        readonly GrpcChannel _channel;
        readonly CallInvoker _invoker;
        readonly string _token;

        /// <summary>Opens a channel (lazily: nothing connects until the first call).</summary>
        /// <param name="address">The sidecar, e.g. <see cref="DefaultAddress"/>.</param>
        /// <param name="bearerToken">Sent as <c>authorization: Bearer &lt;token&gt;</c> when the sidecar
        /// runs with <c>--token</c>; null or empty: none.</param>
        public LipSyncClient(string address = DefaultAddress, string bearerToken = null)
        {
            Address = string.IsNullOrEmpty(address) ? DefaultAddress : address;
            _token = string.IsNullOrEmpty(bearerToken) ? null : bearerToken;
            _channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions
            {
                HttpHandler = new YetAnotherHttpHandler
                {
                    Http2Only = true,
                    // Pings find a sidecar that died without closing the connection.
                    Http2KeepAliveInterval = TimeSpan.FromSeconds(15),
                    Http2KeepAliveTimeout = TimeSpan.FromSeconds(10),
                    Http2KeepAliveWhileIdle = true,
                },
                DisposeHttpClient = true,
            });
            _invoker = _channel.CreateCallInvoker();
        }

        /// <summary>The sidecar's address.</summary>
        public string Address { get; private set; }

        Metadata Headers()
        {
            return _token == null ? null : new Metadata { { "authorization", "Bearer " + _token } };
        }

        /// <summary>Starts a Speak call that must end by <paramref name="deadline"/> (UTC); read frames
        /// with <c>ResponseStream.MoveNext</c>. Dispose the call (or cancel the token) to abandon it.</summary>
        public AsyncServerStreamingCall<LipFrame> Speak(SpeakRequest request, DateTime deadline, CancellationToken cancellationToken)
        {
            var options = new CallOptions(Headers(), deadline, cancellationToken);
            return _invoker.AsyncServerStreamingCall(SpeakMethod, null, options, request);
        }

        /// <summary>Starts a SpeakVoiced call: the voice's audio chunks and the lip frames on one
        /// timeline, in one ordered stream (each chunk before the frames of its time).</summary>
        public AsyncServerStreamingCall<VoicedEvent> SpeakVoiced(SpeakVoicedRequest request, DateTime deadline, CancellationToken cancellationToken)
        {
            var options = new CallOptions(Headers(), deadline, cancellationToken);
            return _invoker.AsyncServerStreamingCall(SpeakVoicedMethod, null, options, request);
        }

        /// <summary>Asks what the server serves: blend-shape names, frame rates, speakers, voices.</summary>
        public async Task<ModelInfo> GetModelInfoAsync(CancellationToken cancellationToken, double timeoutSeconds = 5)
        {
            var options = new CallOptions(Headers(), DateTime.UtcNow.AddSeconds(timeoutSeconds), cancellationToken);
            using (AsyncUnaryCall<ModelInfo> call = _invoker.AsyncUnaryCall(GetModelInfoMethod, null, options, new GetModelInfoRequest()))
            {
                return await call.ResponseAsync;
            }
        }

        /// <summary>True for failures worth retrying after a backoff (server down, restarting, or busy).</summary>
        public static bool IsTransient(RpcException e)
        {
            return e.StatusCode == StatusCode.Unavailable || e.StatusCode == StatusCode.ResourceExhausted
                || e.StatusCode == StatusCode.DeadlineExceeded;
        }

        /// <summary>Closes the channel and its HTTP/2 connection.</summary>
        public void Dispose()
        {
            _channel.Dispose();
        }
    }
}
