// The sidecar over gRPC: retry budget, circuit breaker, deadlines and first-frame timeout per call.
using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using Text2Lips.Core;
using Text2Lips.V1;
using UnityEngine;
using UnityEngine.Scripting;

namespace Text2Lips
{
    /// <summary>
    /// <see cref="ILipSyncRemote"/> on a <see cref="LipSyncClient"/>: one per (address, token),
    /// shared by avatars. <c>GetModelInfo</c> is asked once per connection (again after a
    /// failure, in case the sidecar came back with another model). The retry policy is
    /// <see cref="RetryingCaller"/> (Core, tested): an unreachable sidecar is retried within the
    /// request's budget (~2 s), and a <see cref="CircuitBreaker"/> shared by all callers makes
    /// later lines fail at once while it is down. A call that sends no frame within the
    /// first-frame timeout, or outlives its deadline, fails instead of hanging.
    /// </summary>
    public sealed class GrpcLipSyncRemote : ILipSyncRemote, IDisposable
    {
        readonly LipSyncClient _client;
        readonly RetryingCaller _caller;
        readonly object _gate = new object();
        Task<ModelInfo> _info;

        /// <summary>Registers the factory with <see cref="LipSyncRemotes"/> before any scene loads.</summary>
        [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.SubsystemRegistration)]
        [Preserve]
        static void Register()
        {
            LipSyncRemotes.Factory = (address, token) => new GrpcLipSyncRemote(address, token);
        }

        /// <summary>Opens a (lazy) connection.</summary>
        public GrpcLipSyncRemote(string address, string bearerToken)
        {
            _client = new LipSyncClient(address, bearerToken);
            // One line that could not reach the sidecar in its budget opens the breaker for 5 s.
            var breaker = new CircuitBreaker(failureThreshold: 1, openSeconds: 5);
            _caller = new RetryingCaller(breaker, () => Now, (seconds, ct) => Task.Delay(TimeSpan.FromSeconds(seconds), ct));
        }

        /// <summary>The sidecar's address.</summary>
        public string Address { get { return _client.Address; } }

        static double Now { get { return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency; } }

        /// <summary>See <see cref="ILipSyncRemote.SpeakAsync"/>.</summary>
        public async Task SpeakAsync(RemoteRequest request, Action<RemoteEvent> onEvent, CancellationToken ct)
        {
            string lastReason = "";
            var budget = new RetryBudget(request.RetryBudgetSeconds);
            CallReport report;
            try
            {
                report = await _caller.RunAsync(budget, (reached, token) => AttemptAsync(request, onEvent, reached, why => lastReason = why, token), ct);
            }
            catch (OperationCanceledException)
            {
                return; // Stop(), a newer Speak, or the avatar was disabled
            }
            if (report.FailedFast)
                onEvent(Failure(Address + " is unreachable (a recent line could not reach it); next try in " + report.RetryInSeconds.ToString("F1") + " s", true));
            else if (report.Outcome == AttemptOutcome.Unreachable)
                onEvent(Failure(Address + " did not answer within " + budget.BudgetSeconds + " s (" + report.Tries + " tries; last: " + lastReason + ")", true));
        }

        /// <summary>One try: model info (shared), then the frame stream.</summary>
        async Task<AttemptOutcome> AttemptAsync(RemoteRequest request, Action<RemoteEvent> onEvent, Action reached, Action<string> why, CancellationToken ct)
        {
            bool anyFrame = false;
            bool timedOut = false;
            try
            {
                ModelInfo info = await InfoAsync(ct);
                onEvent(ToInfo(info, request.Speaker));
                using (var firstFrame = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    firstFrame.CancelAfter(TimeSpan.FromSeconds(request.FirstFrameTimeoutSeconds));
                    DateTime deadline = DateTime.UtcNow.AddSeconds(request.DeadlineSeconds);
                    Action first = () =>
                    {
                        if (anyFrame) return;
                        anyFrame = true;
                        firstFrame.CancelAfter(Timeout.Infinite); // the deadline guards the rest
                        reached();
                    };
                    using (firstFrame.Token.Register(() => timedOut = !ct.IsCancellationRequested))
                    {
                        if (Voiced(request, info))
                        {
                            using (AsyncServerStreamingCall<VoicedEvent> call = _client.SpeakVoiced(ToVoicedProto(request), deadline, firstFrame.Token))
                            {
                                while (await call.ResponseStream.MoveNext(firstFrame.Token))
                                {
                                    VoicedEvent e = call.ResponseStream.Current;
                                    if (e.EventCase == VoicedEvent.EventOneofCase.Frames)
                                    {
                                        // A batch (frame_batches): the frames of the audio chunk just
                                        // sent, handed on one by one as if each had come alone.
                                        foreach (LipFrame f in e.Frames.Frames)
                                        {
                                            first();
                                            onEvent(ToFrame(f));
                                        }
                                        continue;
                                    }
                                    RemoteEvent ev = ToEvent(e);
                                    if (ev == null) continue; // an event kind newer than this package
                                    first();
                                    onEvent(ev);
                                }
                            }
                        }
                        else
                        {
                            using (AsyncServerStreamingCall<LipFrame> call = _client.Speak(ToProto(request), deadline, firstFrame.Token))
                            {
                                while (await call.ResponseStream.MoveNext(firstFrame.Token))
                                {
                                    first();
                                    onEvent(ToFrame(call.ResponseStream.Current));
                                }
                            }
                        }
                    }
                }
                onEvent(new RemoteEvent { Kind = RemoteEventKind.End });
                return AttemptOutcome.Done;
            }
            catch (Exception e) when (ct.IsCancellationRequested && (e is OperationCanceledException || e is RpcException))
            {
                throw new OperationCanceledException(ct);
            }
            catch (Exception e) when (timedOut && !anyFrame && (e is OperationCanceledException || e is RpcException))
            {
                why("no frame within " + request.FirstFrameTimeoutSeconds + " s");
                return AttemptOutcome.Unreachable;
            }
            catch (RpcException e) when (LipSyncClient.IsTransient(e) && !anyFrame)
            {
                lock (_gate) _info = null; // it may come back with another model
                why(e.StatusCode + ": " + e.Status.Detail);
                return AttemptOutcome.Unreachable;
            }
            catch (RpcException e)
            {
                // It answered: with a refusal (bad text, token...) or a failure mid-stream.
                onEvent(Failure(Address + ": " + e.StatusCode + ": " + e.Status.Detail, false));
                return AttemptOutcome.Refused;
            }
            catch (Exception e)
            {
                onEvent(Failure(Address + ": " + e.GetType().Name + ": " + e.Message, false));
                return AttemptOutcome.Refused;
            }
        }

        Task<ModelInfo> InfoAsync(CancellationToken ct)
        {
            Task<ModelInfo> task;
            lock (_gate)
            {
                task = _info;
                if (task == null || task.IsFaulted || task.IsCanceled)
                {
                    // Not tied to one caller's token: other avatars share the answer.
                    task = _client.GetModelInfoAsync(CancellationToken.None);
                    _info = task;
                }
            }
            return task.IsCompleted ? task : WithCancellation(task, ct);
        }

        static async Task<T> WithCancellation<T>(Task<T> task, CancellationToken ct)
        {
            var cancelled = new TaskCompletionSource<bool>();
            using (ct.Register(() => cancelled.TrySetResult(true)))
            {
                if (await Task.WhenAny(task, cancelled.Task) != task) throw new OperationCanceledException(ct);
            }
            return await task;
        }

        static SpeakRequest ToProto(RemoteRequest r)
        {
            var request = new SpeakRequest
            {
                Text = r.Text ?? "",
                Speaker = r.Speaker ?? "",
                FrameRate = r.FrameRate,
                TargetDurationS = (float)r.TargetDurationSeconds,
            };
            return request;
        }

        /// <summary>SpeakVoiced when the line wants the voice and the sidecar has one, or when the
        /// game sends its own timing marks; plain Speak (lips only) otherwise, which any sidecar
        /// version answers.</summary>
        static bool Voiced(RemoteRequest r, ModelInfo info)
        {
            if (r.Marks != null && r.Marks.Count > 0) return true;
            return r.WithAudio && r.TargetDurationSeconds <= 0 && info.Voices.Count > 0;
        }

        static SpeakVoicedRequest ToVoicedProto(RemoteRequest r)
        {
            SpeakRequest speak = ToProto(r);
            speak.TargetDurationS = 0; // the voice or the marks give the timing
            // Frames in batches, one message per audio chunk: a dozen avatars one frame per message
            // are ~1,000 messages a second. A sidecar older than the field sends them one by one.
            var request = new SpeakVoicedRequest { Speak = speak, FrameBatches = true };
            if (r.Marks != null && r.Marks.Count > 0)
                request.Marks = new Text2Lips.V1.ClientMarks
                {
                    Format = Text2Lips.Core.ClientMarks.WordsFormat,
                    Data = Text2Lips.Core.ClientMarks.WordsJson(r.Marks),
                };
            return request;
        }

        static RemoteEvent ToEvent(VoicedEvent e)
        {
            if (e.EventCase == VoicedEvent.EventOneofCase.Frame) return ToFrame(e.Frame);
            if (e.EventCase != VoicedEvent.EventOneofCase.Audio) return null;
            byte[] pcm = e.Audio.Pcm16.ToByteArray();
            var chunk = new Text2Lips.Core.AudioChunk(
                Text2Lips.Core.AudioChunk.FromLittleEndianBytes(pcm, 0, pcm.Length), (int)e.Audio.SampleRate, e.Audio.StartS);
            return new RemoteEvent { Kind = RemoteEventKind.Audio, Audio = chunk };
        }

        static RemoteEvent ToInfo(ModelInfo info, string speaker)
        {
            var names = new string[info.BlendshapeNames.Count];
            info.BlendshapeNames.CopyTo(names, 0);
            string wanted = string.IsNullOrEmpty(speaker) ? info.DefaultSpeaker : speaker;
            float[] reference = null;
            foreach (Speaker s in info.Speakers)
            {
                if (s.Name != wanted || s.Reference.Count == 0) continue;
                reference = new float[s.Reference.Count];
                s.Reference.CopyTo(reference, 0);
            }
            return new RemoteEvent { Kind = RemoteEventKind.Info, WeightNames = names, Reference = reference };
        }

        static RemoteEvent ToFrame(LipFrame f)
        {
            var weights = new float[f.Blendshapes.Count];
            f.Blendshapes.CopyTo(weights, 0);
            var landmarks = new float[f.Landmarks.Count];
            f.Landmarks.CopyTo(landmarks, 0);
            return new RemoteEvent { Kind = RemoteEventKind.Frame, Index = f.Index, TimeSeconds = f.TimeS, Weights = weights, Landmarks = landmarks, Last = f.Last };
        }

        static RemoteEvent Failure(string message, bool unreachable)
        {
            return new RemoteEvent { Kind = RemoteEventKind.Error, Error = message, Unreachable = unreachable };
        }

        /// <summary>Closes the connection.</summary>
        public void Dispose()
        {
            _client.Dispose();
        }
    }
}
