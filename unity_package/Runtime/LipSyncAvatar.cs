// Component that speaks text through the sidecar and drives a mesh's blend shapes with the result.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using Text2Lips.Core;
using Text2Lips.V1;
using UnityEngine;
using UnityEngine.Events;

namespace Text2Lips
{
    /// <summary>A UnityEvent carrying an error message.</summary>
    [Serializable]
    public sealed class LipSyncErrorEvent : UnityEvent<string> { }

    /// <summary>
    /// Speaks text on an avatar: <see cref="Speak"/> streams lip frames from the text2lips
    /// sidecar, plays them on their own clock (by timestamps, interpolated to the render rate,
    /// smoothed) and writes the weights to a <see cref="SkinnedMeshRenderer"/> through a
    /// <see cref="BlendShapeMap"/>. The timing and weight logic lives in Text2Lips.Core
    /// (<see cref="LipSyncPlayer"/>); this class only moves messages between the network, the
    /// player and the mesh.
    /// </summary>
    [AddComponentMenu("Text2Lips/Lip Sync Avatar")]
    [DisallowMultipleComponent]
    public sealed class LipSyncAvatar : MonoBehaviour
    {
        [Header("Server")]
        [Tooltip("The sidecar (make run serves http://127.0.0.1:50051).")]
        [SerializeField] string serverAddress = LipSyncClient.DefaultAddress;
        [Tooltip("A speaker from the server's model info; empty: the model's default.")]
        [SerializeField] string speaker = "";
        [Tooltip("Frames per second to request: 0 (native 80), 60 or 30. Playback interpolates to the render rate either way.")]
        [SerializeField] float frameRate = 0f;

        [Header("Avatar")]
        [SerializeField] SkinnedMeshRenderer skinnedMeshRenderer;
        [SerializeField] BlendShapeMap blendShapeMap;

        [Header("Playback")]
        [Tooltip("Speech (s) to receive before the lips start moving; absorbs network jitter.")]
        [SerializeField, Min(0f)] float prebufferSeconds = 0.1f;
        [Tooltip("Time constant (s) of the output smoothing; 0 turns it off.")]
        [SerializeField, Min(0f)] float smoothingSeconds = 0.03f;
        [Tooltip("How long (s) to hold the last frame when frames arrive late, before easing to neutral.")]
        [SerializeField, Min(0f)] float underrunHoldSeconds = 0.1f;
        [Tooltip("Time constant (s) of the ease back to neutral after speech.")]
        [SerializeField, Min(0f)] float neutralEaseSeconds = 0.08f;
        [Tooltip("Play on unscaled time, so pausing (timeScale 0) does not freeze the lips.")]
        [SerializeField] bool useUnscaledTime = false;

        [Header("Reconnect")]
        [Tooltip("First wait (s) before retrying an unreachable server; doubles per retry, with jitter.")]
        [SerializeField, Min(0.01f)] float reconnectInitialSeconds = 0.5f;
        [Tooltip("Longest wait (s) between retries.")]
        [SerializeField, Min(0.01f)] float reconnectMaxSeconds = 8f;
        [Tooltip("Retries of one utterance before giving up with an error.")]
        [SerializeField, Min(0)] int maxRetries = 5;

        [Header("Events")]
        [Tooltip("The lips started moving for the current utterance.")]
        public UnityEvent onStarted = new UnityEvent();
        [Tooltip("The utterance ended: played out, stopped, or failed (after onError). Raised once per Speak.")]
        public UnityEvent onFinished = new UnityEvent();
        [Tooltip("The utterance failed; the message says why.")]
        public LipSyncErrorEvent onError = new LipSyncErrorEvent();

        enum Kind { Info, Frame, End, Error }

        struct Message
        {
            public int Generation;
            public Kind Kind;
            public ModelInfo Info;
            public LipFrame Frame;
            public string Error;
        }

        // Allocated in OnEnable, released in OnDisable.
        LipSyncClient _client;
        ReconnectBackoff _backoff;
        ConcurrentQueue<Message> _inbox;
        CancellationTokenSource _lifetime;
        CancellationTokenSource _utterance;
        Task<ModelInfo> _modelInfo;
        // Built when the server's blend-shape names are known.
        LipSyncPlayer _player;
        BlendShapeMapping _mapping;
        float[] _weights;
        float[] _meshWeights;
        IList<string> _names;
        bool _meshAtRest = true;

        int _generation;        // bumped by every Speak; messages of older ones are stale
        int _playerGeneration;  // the utterance the player is playing
        bool _active;           // the current utterance has not finished yet

        /// <summary>True from <see cref="Speak"/> until the utterance has finished (or failed).</summary>
        public bool IsSpeaking { get { return _active; } }

        /// <summary>The player of the current utterance (state, frame statistics); null until the server answered.</summary>
        public LipSyncPlayer Player { get { return _player; } }

        /// <summary>The mesh whose blend shapes are driven.</summary>
        public SkinnedMeshRenderer SkinnedMeshRenderer
        {
            get { return skinnedMeshRenderer; }
            set { skinnedMeshRenderer = value; _names = null; }
        }

        /// <summary>The bindings used; changing it takes effect from the next utterance.</summary>
        public BlendShapeMap BlendShapeMap
        {
            get { return blendShapeMap; }
            set { blendShapeMap = value; _names = null; }
        }

        void OnEnable()
        {
            _inbox = new ConcurrentQueue<Message>();
            _lifetime = new CancellationTokenSource();
            _client = new LipSyncClient(serverAddress);
            _backoff = new ReconnectBackoff(reconnectInitialSeconds, Mathf.Max(reconnectInitialSeconds, reconnectMaxSeconds));
        }

        void OnDisable()
        {
            Stop();
            _lifetime.Cancel();
            _lifetime.Dispose();
            _client.Dispose();
            if (_mapping != null && skinnedMeshRenderer != null)
                foreach (int index in _mapping.TargetIndices) skinnedMeshRenderer.SetBlendShapeWeight(index, 0f);
            _client = null;
            _backoff = null;
            _inbox = null;
            _lifetime = null;
            _modelInfo = null;
            _player = null;
            _mapping = null;
            _weights = null;
            _meshWeights = null;
            _names = null;
            _meshAtRest = true;
        }

        /// <summary>
        /// Speaks <paramref name="text"/>, replacing any utterance in progress (which then
        /// finishes). Progress is reported through <see cref="onStarted"/>, <see cref="onFinished"/>
        /// and <see cref="onError"/>; <see cref="IsSpeaking"/> is true until it ends.
        /// </summary>
        public void Speak(string text)
        {
            if (!isActiveAndEnabled)
            {
                Debug.LogWarning("LipSyncAvatar.Speak called on a disabled component; ignored.", this);
                return;
            }
            Stop();
            _generation++;
            _active = true;
            if (skinnedMeshRenderer == null || skinnedMeshRenderer.sharedMesh == null || blendShapeMap == null)
            {
                Fail(_generation, "assign a SkinnedMeshRenderer with a mesh and a BlendShapeMap to " + name);
                return;
            }
            if (string.IsNullOrWhiteSpace(text))
            {
                Fail(_generation, "nothing to speak: the text is empty");
                return;
            }
            _utterance = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
            var request = new SpeakRequest { Text = text, Speaker = speaker ?? "", FrameRate = frameRate };
            // Fire and forget: RunAsync reports everything, failures included, through the inbox.
            _ = RunAsync(request, _generation, _utterance.Token);
        }

        /// <summary>Stops the current utterance; the mouth eases back to neutral.</summary>
        public void Stop()
        {
            if (_utterance != null)
            {
                _utterance.Cancel();
                _utterance.Dispose();
                _utterance = null;
            }
            if (_player != null) _player.Stop();
            Finish();
        }

        async Task RunAsync(SpeakRequest request, int generation, CancellationToken ct)
        {
            // Held locally: OnDisable may null the fields before this task notices the cancel.
            LipSyncClient client = _client;
            ReconnectBackoff backoff = _backoff;
            ConcurrentQueue<Message> inbox = _inbox;
            CancellationToken lifetime = _lifetime.Token;
            int retries = 0;
            while (true)
            {
                bool anyFrame = false;
                try
                {
                    ModelInfo info = await ModelInfoAsync(client, lifetime, ct);
                    inbox.Enqueue(new Message { Generation = generation, Kind = Kind.Info, Info = info });
                    using (AsyncServerStreamingCall<LipFrame> call = client.Speak(request, ct))
                    {
                        while (await call.ResponseStream.MoveNext(ct))
                        {
                            anyFrame = true;
                            inbox.Enqueue(new Message { Generation = generation, Kind = Kind.Frame, Frame = call.ResponseStream.Current });
                        }
                    }
                    backoff.Reset();
                    inbox.Enqueue(new Message { Generation = generation, Kind = Kind.End });
                    return;
                }
                catch (Exception e) when (ct.IsCancellationRequested && (e is OperationCanceledException || e is RpcException))
                {
                    return; // Stop(), a newer Speak, or the component was disabled
                }
                catch (RpcException e) when (LipSyncClient.IsTransient(e) && !anyFrame && retries < maxRetries)
                {
                    // Nothing played yet, so the utterance can start over once the server is back.
                    _modelInfo = null; // it may come back with another model
                    retries++;
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(backoff.NextDelaySeconds()), ct);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
                catch (RpcException e)
                {
                    inbox.Enqueue(new Message { Generation = generation, Kind = Kind.Error, Error = client.Address + ": " + e.Status.StatusCode + ": " + e.Status.Detail });
                    return;
                }
                catch (Exception e)
                {
                    inbox.Enqueue(new Message { Generation = generation, Kind = Kind.Error, Error = e.GetType().Name + ": " + e.Message });
                    return;
                }
            }
        }

        Task<ModelInfo> ModelInfoAsync(LipSyncClient client, CancellationToken lifetime, CancellationToken ct)
        {
            // Shared by utterances; dropped when a call fails, so a restarted server is asked again.
            Task<ModelInfo> task = _modelInfo;
            if (task == null || task.IsFaulted || task.IsCanceled)
            {
                task = client.GetModelInfoAsync(lifetime);
                _modelInfo = task;
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

        void Update()
        {
            if (_inbox == null) return;
            Message m;
            while (_inbox.TryDequeue(out m))
            {
                if (m.Generation != _generation || !_active) continue; // from a stopped utterance
                switch (m.Kind)
                {
                    case Kind.Info:
                        if (!Configure(m.Info)) break;
                        if (_playerGeneration != m.Generation)
                        {
                            _player.Begin();
                            _playerGeneration = m.Generation;
                        }
                        break;
                    case Kind.Frame:
                        if (_playerGeneration == m.Generation)
                            _player.Push(m.Frame.Index, m.Frame.TimeS, m.Frame.Blendshapes, m.Frame.Last);
                        break;
                    case Kind.End:
                        if (_playerGeneration == m.Generation) _player.EndOfStream();
                        break;
                    case Kind.Error:
                        Fail(m.Generation, m.Error);
                        break;
                }
            }
            if (_player == null) return;
            PlayerEvents events = _player.Tick(useUnscaledTime ? Time.unscaledDeltaTime : Time.deltaTime, _weights);
            if (_playerGeneration != _generation || !_active) return; // events of a replaced utterance
            if ((events & PlayerEvents.Started) != 0 && _player.Buffer.AcceptedFrames > 0) onStarted.Invoke();
            if ((events & PlayerEvents.Finished) != 0)
            {
                if (_player.Buffer.RejectedFrames > 0)
                    Debug.LogWarning(name + ": " + _player.Buffer.RejectedFrames + " frames had the wrong number of weights and were skipped", this);
                Finish();
            }
        }

        void LateUpdate()
        {
            // After the Animator, so speech wins over animated mouth shapes while it plays.
            if (_mapping == null || skinnedMeshRenderer == null) return;
            bool atRest = !_player.IsBusy && Max(_weights) < 1e-4f;
            if (atRest && _meshAtRest) return; // leave the shapes to others once back at neutral
            _mapping.Apply(_weights, _meshWeights);
            int[] targets = _mapping.TargetIndices;
            for (int k = 0; k < targets.Length; k++) skinnedMeshRenderer.SetBlendShapeWeight(targets[k], _meshWeights[k]);
            _meshAtRest = atRest;
        }

        /// <summary>Builds the player and the mapping for the server's weight names (only when they
        /// change). False when the utterance cannot be played.</summary>
        bool Configure(ModelInfo info)
        {
            IList<string> names = info.BlendshapeNames;
            if (_player != null && _names != null && SameNames(_names, names)) return true;
            if (names.Count == 0)
            {
                Fail(_generation, "the server at " + serverAddress + " sends no blend-shape weights (ModelInfo.blendshape_names is empty)");
                return false;
            }
            var settings = new LipPlaybackSettings
            {
                PrebufferSeconds = prebufferSeconds,
                SmoothingSeconds = smoothingSeconds,
                UnderrunHoldSeconds = underrunHoldSeconds,
                NeutralEaseSeconds = neutralEaseSeconds,
            };
            _player = new LipSyncPlayer(names.Count, settings);
            _playerGeneration = 0;
            _weights = new float[_player.WeightCount];
            Mesh mesh = skinnedMeshRenderer.sharedMesh;
            _mapping = BlendShapeMapping.Build(names, blendShapeMap.Bindings, mesh.GetBlendShapeIndex);
            _meshWeights = new float[_mapping.TargetIndices.Length];
            _names = new List<string>(names);
            if (_mapping.UnmatchedBindings.Length > 0)
                Debug.LogWarning(name + ": blend-shape bindings without a match (server weight or mesh shape missing): "
                    + string.Join(", ", _mapping.UnmatchedBindings), this);
            if (_mapping.TargetIndices.Length == 0)
                Debug.LogWarning(name + ": no blend shape of " + mesh.name + " is driven; use Auto-match in " + blendShapeMap.name, this);
            return true;
        }

        void Fail(int generation, string message)
        {
            if (generation != _generation || !_active) return;
            onError.Invoke(message);
            if (_player != null && _playerGeneration == generation && _player.Buffer.AcceptedFrames > 0)
                _player.EndOfStream(); // play what arrived; Update finishes it
            else
            {
                if (_player != null) _player.Stop();
                Finish();
            }
        }

        void Finish()
        {
            if (!_active) return;
            _active = false;
            onFinished.Invoke();
        }

        static bool SameNames(IList<string> a, IList<string> b)
        {
            if (a.Count != b.Count) return false;
            for (int i = 0; i < a.Count; i++) if (a[i] != b[i]) return false;
            return true;
        }

        static float Max(float[] values)
        {
            float m = 0f;
            foreach (float v in values) m = Mathf.Max(m, v);
            return m;
        }
    }
}
