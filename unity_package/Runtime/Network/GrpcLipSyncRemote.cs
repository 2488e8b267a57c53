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
    /// failure, in case the sidecar came back with another model). An unreachable sidecar is
    /// retried within the request's budget (~2 s), and a <see cref="CircuitBreaker"/> shared by all
    /// callers makes later lines fail at once while it is down; a call that sends no frame within
    /// the first-frame timeout, or outlives its deadline, fails instead of hanging.
    /// </summary>
    public sealed class GrpcLipSyncRemote : ILipSyncRemote, IDisposable
    {
        readonly LipSyncClient _client;
        readonly CircuitBreaker _breaker = new CircuitBreaker(failureThreshold: 3, openSeconds: 10);
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
        }

        /// <summary>The sidecar's address.</summary>
        public string Address { get { return _client.Address; } }

        static double Now { get { return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency; } }

        /// <summary>See <see cref="ILipSyncRemote.SpeakAsync"/>.</summary>
        public async Task SpeakAsync(RemoteRequest request, Action<RemoteEvent> onEvent, CancellationToken ct)
        {
            var budget = new RetryBudget(request.RetryBudgetSeconds);
            budget.Start(Now);
            while (true)
            {
                double retryIn;
                lock (_gate) retryIn = _breaker.Allow(Now) ? -1 : _breaker.RetryInSeconds(Now);
                if (retryIn >= 0)
                {
                    onEvent(Failure(Address + " is unreachable (several calls failed); next try in " + retryIn.ToString("F1") + " s", true));
                    return;
                }
                bool anyFrame = false;
                bool timedOut = false;
                bool settled = false; // the breaker heard how this try went
                try
                {
                    ModelInfo info = await InfoAsync(ct);
                    onEvent(ToInfo(info, request.Speaker));
                    using (var firstFrame = CancellationTokenSource.CreateLinkedTokenSource(ct))
                    {
                        firstFrame.CancelAfter(TimeSpan.FromSeconds(request.FirstFrameTimeoutSeconds));
                        using (firstFrame.Token.Register(() => timedOut = !ct.IsCancellationRequested))
                        using (AsyncServerStreamingCall<LipFrame> call = _client.Speak(ToProto(request), DateTime.UtcNow.AddSeconds(request.DeadlineSeconds), firstFrame.Token))
                        {
                            while (await call.ResponseStream.MoveNext(firstFrame.Token))
                            {
                                if (!anyFrame)
                                {
                                    anyFrame = true;
                                    firstFrame.CancelAfter(Timeout.Infinite); // the deadline guards the rest
                                    Reached(ref settled);
                                }
                                LipFrame frame = call.ResponseStream.Current;
                                onEvent(ToFrame(frame));
                                // TEXT2LIPS-MERGE(voice): when lipsync.proto carries the voice audio,
                                // map it here into the core type, e.g.
                                //   onEvent(new RemoteEvent { Kind = RemoteEventKind.Audio, Audio = new AudioChunk(
                                //       AudioChunk.FromLittleEndianBytes(pcm, 0, pcm.Length), sampleRate, startS) });
                                // StreamingAudio handles order, gaps, overlaps and the prebuffer from there.
                            }
                        }
                    }
                    Reached(ref settled); // a stream that ended without frames still answered
                    onEvent(new RemoteEvent { Kind = RemoteEventKind.End });
                    return;
                }
                catch (Exception e) when (ct.IsCancellationRequested && (e is OperationCanceledException || e is RpcException))
                {
                    if (!settled) lock (_gate) _breaker.Abandon();
                    return; // Stop(), a newer Speak, or the avatar was disabled
                }
                catch (Exception e) when (timedOut && !anyFrame && (e is OperationCanceledException || e is RpcException))
                {
                    if (Retry(budget, "no frame within " + request.FirstFrameTimeoutSeconds + " s", onEvent, out retryIn)) await Task.Delay(TimeSpan.FromSeconds(retryIn), ct).ConfigureAwait(false);
                    else return;
                }
                catch (RpcException e) when (LipSyncClient.IsTransient(e) && !anyFrame)
                {
                    if (Retry(budget, e.StatusCode + ": " + e.Status.Detail, onEvent, out retryIn)) await Task.Delay(TimeSpan.FromSeconds(retryIn), ct).ConfigureAwait(false);
                    else return;
                }
                catch (RpcException e)
                {
                    Reached(ref settled); // it answered, with a refusal (bad text, token, ...)
                    onEvent(Failure(Address + ": " + e.StatusCode + ": " + e.Status.Detail, false));
                    return;
                }
                catch (Exception e)
                {
                    if (!settled) lock (_gate) _breaker.Abandon();
                    onEvent(Failure(Address + ": " + e.GetType().Name + ": " + e.Message, false));
                    return;
                }
            }
        }

        void Reached(ref bool settled)
        {
            if (settled) return;
            settled = true;
            lock (_gate) _breaker.RecordSuccess();
        }

        bool Retry(RetryBudget budget, string why, Action<RemoteEvent> onEvent, out double delay)
        {
            double now = Now;
            lock (_gate)
            {
                _breaker.RecordFailure(now);
                _info = null; // it may come back with another model
            }
            if (budget.TryNext(now, out delay)) return true;
            onEvent(Failure(Address + " did not answer within " + budget.BudgetSeconds + " s (" + budget.Retries + " retries; last: " + why + ")", true));
            return false;
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
            // TEXT2LIPS-MERGE(voice): set the request's voice/audio flag from r.WithAudio and, if the
            // proto gains timing marks, copy r.Marks (word, start, end) into them here.
            return request;
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
