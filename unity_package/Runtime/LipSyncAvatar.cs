// Component that speaks lines aloud and moves an avatar's mouth in sync with the sound.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Text2Lips.Core;
using UnityEngine;
using UnityEngine.Events;

namespace Text2Lips
{
    /// <summary>A UnityEvent carrying an error message.</summary>
    [Serializable]
    public sealed class LipSyncErrorEvent : UnityEvent<string> { }

    /// <summary>A mesh whose blend shapes the avatar drives, and the map that binds them (face, teeth, tongue...).</summary>
    [Serializable]
    public sealed class MouthTarget
    {
        /// <summary>The renderer whose blend shapes are written.</summary>
        public SkinnedMeshRenderer renderer;
        /// <summary>Which of its shapes each weight drives.</summary>
        public BlendShapeMap map;
    }

    /// <summary>
    /// Speaks a line on an avatar: the voice plays through an <see cref="AudioSource"/> and the
    /// mouth follows the sound's own clock (<c>timeSamples</c>), so a hitch or a pause cannot
    /// part them. Lines come from, in order of preference: a baked clip with the line's id (no
    /// network, any platform), or the text2lips sidecar, which streams lip frames and voice
    /// audio. <see cref="Speak(string)"/> speaks aloud, <see cref="Speak(string, AudioClip, IList{TimedWord})"/>
    /// syncs to a game's own voice-over, <see cref="SpeakLipsOnly"/> moves the lips silently.
    /// Weights go to every (renderer, map) in <see cref="Targets"/>. The timing logic lives in
    /// Text2Lips.Core (<see cref="SpeechPlayback"/>, <see cref="UtteranceLifecycle"/>); this class
    /// moves data between the network, the core, the AudioSource and the meshes.
    /// </summary>
    /// <remarks>
    /// VRM 1.0's <c>aa ih ou ee oh</c> are expressions, not mesh blend shapes: this component
    /// drives mesh blend shapes only, which suits VRoid models (their <c>Fcl_MTH_*</c> shapes)
    /// and VRM 0.x meshes; for VRM 1.0 expressions, read <see cref="Weights"/> and call the VRM
    /// expression API yourself.
    /// </remarks>
    [AddComponentMenu("Text2Lips/Lip Sync Avatar")]
    [DisallowMultipleComponent]
    // After gameplay scripts (a Speak in their Update plays this frame) and before the defaults'
    // LateUpdate readers; the weights themselves are written in LateUpdate, after the Animator.
    [DefaultExecutionOrder(100)]
    public sealed class LipSyncAvatar : MonoBehaviour
    {
        [Header("Server")]
        [Tooltip("The sidecar (make run serves http://127.0.0.1:50051).")]
        [SerializeField] string serverAddress = "http://127.0.0.1:50051";
        [Tooltip("Bearer token, when the sidecar runs with --token. Empty: none.")]
        [SerializeField] string bearerToken = "";
        [Tooltip("A speaker from the server's model info; empty: the model's default.")]
        [SerializeField] string speaker = "";
        [Tooltip("Frames per second to request: 0 (native 80), 60 or 30. Playback interpolates to the render rate either way.")]
        [SerializeField] float frameRate = 0f;
        [Tooltip("Longest wait (s) for the first frame before the line fails.")]
        [SerializeField, Min(0.1f)] float firstFrameTimeoutSeconds = 5f;
        [Tooltip("Time (s) a line may spend retrying an unreachable sidecar before it fails.")]
        [SerializeField, Min(0f)] float retryBudgetSeconds = 2f;

        [Header("Voice")]
        [Tooltip("Plays the voice. Empty: one is added to this object when a line needs it.")]
        [SerializeField] AudioSource audioSource;
        [Tooltip("Speak(text) plays the voice; off: lips only.")]
        [SerializeField] bool speakAloud = true;
        [Tooltip("Voice (s) to receive before the sound starts.")]
        [SerializeField, Min(0f)] float audioPrebufferSeconds = 0.15f;

        [Header("Avatar")]
        [Tooltip("Meshes to drive, each with its map (face, teeth, ...).")]
        [SerializeField] List<MouthTarget> targets = new List<MouthTarget>();

        [Header("Baked lines")]
        [Tooltip("Lines baked with `text2lips bake`; SpeakLine(id) plays these with no sidecar.")]
        [SerializeField] List<BakedLipClip> bakedClips = new List<BakedLipClip>();

        [Header("Playback")]
        [Tooltip("Speech (s) to receive before silent lips start moving; absorbs network jitter.")]
        [SerializeField, Min(0f)] float prebufferSeconds = 0.1f;
        [Tooltip("Time constant (s) of the output smoothing; 0 turns it off.")]
        [SerializeField, Min(0f)] float smoothingSeconds = 0.03f;
        [Tooltip("How long (s) to hold the last frame when frames arrive late, before easing to neutral.")]
        [SerializeField, Min(0f)] float underrunHoldSeconds = 0.1f;
        [Tooltip("Time constant (s) of the ease back to neutral after speech.")]
        [SerializeField, Min(0f)] float neutralEaseSeconds = 0.08f;
        [Tooltip("Smooth and run silent lines on unscaled time, so a dialogue UI that pauses with timeScale 0 still talks.")]
        [SerializeField] bool useUnscaledTime = true;

        [Header("Events")]
        [Tooltip("The line became visible (and audible).")]
        public UnityEvent onStarted = new UnityEvent();
        [Tooltip("The line ended: played out, stopped, replaced, or failed (after onError). Raised once per Speak.")]
        public UnityEvent onFinished = new UnityEvent();
        [Tooltip("The line failed; the message says why.")]
        public LipSyncErrorEvent onError = new LipSyncErrorEvent();

        const int LandmarkFloats = 60;

        struct Message
        {
            public int Utterance;
            public RemoteEvent Event;
        }

        sealed class TargetState
        {
            public MouthTarget Target;
            public BlendShapeMapping Mapping;
            public float[] MeshWeights;
            public bool AtRest = true;
        }

        // Allocated in OnEnable, released in OnDisable.
        UtteranceLifecycle _life;
        ConcurrentQueue<Message> _inbox;
        CancellationTokenSource _lifetime;
        ILipSyncRemote _remote;
        UnityAudioOutput _audio;
        BakedLibrary _baked;
        // Built for the weight names of the line being played.
        SpeechPlayback _playback;
        string[] _names;
        float[] _channels;          // weights, then 60 landmark offsets from the reference
        float[] _weights;
        float[] _frame;             // scratch for one pushed frame
        float[] _reference = new float[LandmarkFloats];
        float[] _landmarks = new float[LandmarkFloats];
        readonly List<TargetState> _targets = new List<TargetState>();
        int _playing;               // the utterance the playback belongs to
        bool _hasLandmarks;

        /// <summary>True from a Speak call until its <see cref="onFinished"/>.</summary>
        public bool IsSpeaking { get { return _life != null && _life.IsActive; } }

        /// <summary>The current line's playback (state, timing, frame statistics); null before the first line.</summary>
        public SpeechPlayback Playback { get { return _playback; } }

        /// <summary>The weights shown this frame, in the order of <see cref="WeightNames"/> (0..1).</summary>
        public float[] Weights { get { return _weights; } }

        /// <summary>Names of <see cref="Weights"/>.</summary>
        public string[] WeightNames { get { return _names; } }

        /// <summary>The 20 lip landmarks shown this frame (x, y, z of points 48..67, head space, mm); see <see cref="HasLandmarks"/>.</summary>
        public float[] Landmarks { get { return _landmarks; } }

        /// <summary>True once a line has supplied landmarks.</summary>
        public bool HasLandmarks { get { return _hasLandmarks; } }

        /// <summary>The meshes driven; changes take effect from the next line.</summary>
        public List<MouthTarget> Targets { get { return targets; } }

        /// <summary>Baked clips looked up by <see cref="SpeakLine"/>; changes take effect from the next line.</summary>
        public List<BakedLipClip> BakedClips { get { return bakedClips; } }

        /// <summary>The AudioSource the voice plays through (made on first use when none is assigned).</summary>
        public AudioSource AudioSource { get { return audioSource; } }

        void OnEnable()
        {
            _life = new UtteranceLifecycle();
            _life.Finished += OnUtteranceFinished;
            _inbox = new ConcurrentQueue<Message>();
            _lifetime = new CancellationTokenSource();
            _remote = LipSyncRemotes.Acquire(serverAddress, bearerToken);
        }

        void OnDisable()
        {
            Stop();
            _lifetime.Cancel();
            _lifetime.Dispose();
            LipSyncRemotes.Release(_remote);
            if (_audio != null) _audio.Dispose();
            foreach (TargetState t in _targets)
                if (t.Mapping != null && t.Target.renderer != null)
                    foreach (int index in t.Mapping.TargetIndices) t.Target.renderer.SetBlendShapeWeight(index, 0f);
            _life.Finished -= OnUtteranceFinished;
            _life = null;
            _inbox = null;
            _lifetime = null;
            _remote = null;
            _audio = null;
            _baked = null;
            _playback = null;
            _names = null;
            _targets.Clear();
        }

        /// <summary>Speaks <paramref name="text"/> through the sidecar, aloud unless Speak Aloud is
        /// off (or the sidecar has no voice), replacing any line in progress.</summary>
        public void Speak(string text)
        {
            StartRemote(text, speakAloud, null, null);
        }

        /// <summary>Moves the lips to <paramref name="text"/> without sound.</summary>
        public void SpeakLipsOnly(string text)
        {
            StartRemote(text, false, null, null);
        }

        /// <summary>Plays a game's own voice-over <paramref name="clip"/> and moves the lips to
        /// <paramref name="text"/>, stretched to the clip's length and, when the sidecar supports
        /// them, placed on the word timing <paramref name="marks"/>. The lips follow the clip's position.</summary>
        public void Speak(string text, AudioClip clip, IList<TimedWord> marks = null)
        {
            if (clip == null)
            {
                Speak(text);
                return;
            }
            StartRemote(text, false, clip, marks);
        }

        /// <summary>Plays the baked clip with id <paramref name="lineId"/> (no network); without
        /// one, speaks <paramref name="fallbackText"/> through the sidecar, or fails when that is empty.</summary>
        public void SpeakLine(string lineId, string fallbackText = null)
        {
            BakedLipClip clip = FindBaked(lineId);
            if (clip != null) Speak(clip);
            else if (!string.IsNullOrEmpty(fallbackText)) Speak(fallbackText);
            else
            {
                int id = Begin();
                if (id != 0) Fail(id, "no baked clip with id '" + lineId + "' in " + name + "'s Baked Clips, and no text to ask the sidecar for");
            }
        }

        /// <summary>Plays a baked clip: its voice (if it has one) and its lips, with no network.</summary>
        public void Speak(BakedLipClip clip)
        {
            int id = Begin();
            if (id == 0) return;
            if (clip == null)
            {
                Fail(id, "the baked clip is missing");
                return;
            }
            BakedLine line;
            try
            {
                line = clip.Line;
            }
            catch (FormatException e)
            {
                Fail(id, clip.name + ": " + e.Message);
                return;
            }
            bool aloud = speakAloud && line.HasAudio && EnsureAudio(); // before Configure: it may rebuild the playback
            if (!Configure(id, line.WeightNames)) return;
            SetReference(line.Landmarks, 0);
            _playback.Begin(aloud ? SpeechMode.Streamed : SpeechMode.LipsOnly);
            for (int f = 0; f < line.FrameCount; f++)
                PushFrame(f, line.Times[f], line.Weights, f * line.WeightNames.Length, line.Landmarks, f * LandmarkFloats, f == line.FrameCount - 1);
            if (aloud) _playback.PushAudio(new AudioChunk(line.Audio, line.SampleRate, 0));
            _playback.EndOfStream();
        }

        /// <summary>Stops the current line; the mouth eases back to neutral.</summary>
        public void Stop()
        {
            if (_playback != null) _playback.Stop();
            if (_life != null) _life.Stop();
        }

        /// <summary>Pauses sound and lips together (a game pause); <see cref="Resume"/> continues.</summary>
        public void Pause()
        {
            if (_playback != null) _playback.Pause();
        }

        /// <summary>Continues after <see cref="Pause"/>.</summary>
        public void Resume()
        {
            if (_playback != null) _playback.Resume();
        }

        /// <summary>Ends the current line and starts a new utterance; 0 when this one was replaced
        /// by an onFinished listener (or the component is disabled).</summary>
        int Begin()
        {
            if (!isActiveAndEnabled)
            {
                Debug.LogWarning("LipSyncAvatar.Speak called on a disabled component; ignored.", this);
                return 0;
            }
            if (_playback != null) _playback.Stop();
            int id = _life.Begin(); // raises the previous line's onFinished; a listener may Speak
            return _life.IsCurrent(id) ? id : 0;
        }

        void StartRemote(string text, bool aloud, AudioClip clip, IList<TimedWord> marks)
        {
            int id = Begin();
            if (id == 0) return;
            if (string.IsNullOrWhiteSpace(text))
            {
                Fail(id, "nothing to speak: the text is empty");
                return;
            }
            if (_remote == null)
            {
                Fail(id, LipSyncRemotes.UnavailableReason);
                return;
            }
            if (clip != null && !EnsureAudio()) clip = null;
            if (aloud && !EnsureAudio()) aloud = false;
            var request = new RemoteRequest
            {
                Text = text,
                Speaker = speaker ?? "",
                FrameRate = frameRate,
                WithAudio = aloud,
                TargetDurationSeconds = clip != null ? clip.length : 0,
                Marks = marks,
                FirstFrameTimeoutSeconds = firstFrameTimeoutSeconds,
                RetryBudgetSeconds = retryBudgetSeconds,
            };
            _pendingMode = clip != null ? SpeechMode.Clip : aloud ? SpeechMode.Streamed : SpeechMode.LipsOnly;
            _pendingClip = clip;
            var cts = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
            _life.Attach(id, () =>
            {
                // The line ended (replaced, stopped, failed): drop its stream. A call that already
                // ended has disposed its token source, and there is nothing left to cancel.
                try { cts.Cancel(); }
                catch (ObjectDisposedException) { }
            });
            ConcurrentQueue<Message> inbox = _inbox;
            // Fire and forget: the remote reports everything, failures included, through the inbox.
            // The token source is disposed only once the call no longer uses it.
            _remote.SpeakAsync(request, e => inbox.Enqueue(new Message { Utterance = id, Event = e }), cts.Token)
                .ContinueWith(t => cts.Dispose(), TaskScheduler.Default);
        }

        // How the current remote line plays once the server's info arrives.
        SpeechMode _pendingMode;
        AudioClip _pendingClip;

        void Update()
        {
            if (_inbox == null) return;
            Message m;
            while (_inbox.TryDequeue(out m))
            {
                if (!_life.IsCurrent(m.Utterance)) continue; // from a replaced or stopped line
                RemoteEvent e = m.Event;
                switch (e.Kind)
                {
                    case RemoteEventKind.Info:
                        if (_playing == m.Utterance || !Configure(m.Utterance, e.WeightNames)) break;
                        if (e.Reference != null && e.Reference.Length == LandmarkFloats) SetReference(e.Reference, 0);
                        if (_pendingMode == SpeechMode.Clip) _audio.UseClip(_pendingClip);
                        _playback.Begin(_pendingMode);
                        break;
                    case RemoteEventKind.Frame:
                        if (_playing != m.Utterance) break;
                        if (e.Weights.Length != _names.Length)
                        {
                            _badFrames++;
                            break;
                        }
                        if (!_hasReference && e.Landmarks.Length == LandmarkFloats) SetReference(e.Landmarks, 0);
                        PushFrame(e.Index, e.TimeSeconds, e.Weights, 0, e.Landmarks, 0, e.Last);
                        break;
                    case RemoteEventKind.Audio:
                        if (_playing == m.Utterance) _playback.PushAudio(e.Audio);
                        break;
                    case RemoteEventKind.End:
                        if (_playing == m.Utterance) _playback.EndOfStream();
                        break;
                    case RemoteEventKind.Error:
                        Fail(m.Utterance, e.Error);
                        break;
                }
            }
            if (_playback == null) return;
            PlayerEvents events = _playback.Tick(useUnscaledTime ? Time.unscaledDeltaTime : Time.deltaTime, _channels);
            Split();
            if (!_life.IsCurrent(_playing)) return; // the tail of a replaced line easing out
            if ((events & PlayerEvents.Started) != 0 && _playback.Player.Buffer.AcceptedFrames > 0) onStarted.Invoke();
            if ((events & PlayerEvents.Finished) != 0)
            {
                if (_badFrames > 0)
                    Debug.LogWarning(name + ": " + _badFrames + " frames had the wrong number of weights and were skipped", this);
                _life.Finish(_playing);
            }
        }

        void LateUpdate()
        {
            // After the Animator, so speech wins over animated mouth shapes while it plays.
            if (_playback == null) return;
            bool atRest = !_playback.IsBusy && Max(_weights) < 1e-4f;
            foreach (TargetState t in _targets)
            {
                if (t.Mapping == null || t.Target.renderer == null) continue;
                if (atRest && t.AtRest) continue; // leave the shapes to others once back at neutral
                t.Mapping.Apply(_weights, t.MeshWeights);
                int[] indices = t.Mapping.TargetIndices;
                for (int k = 0; k < indices.Length; k++) t.Target.renderer.SetBlendShapeWeight(indices[k], t.MeshWeights[k]);
                t.AtRest = atRest;
            }
        }

        bool _hasReference;
        int _badFrames;   // frames of the current line with the wrong number of weights

        void SetReference(float[] source, int offset)
        {
            Array.Copy(source, offset, _reference, 0, LandmarkFloats);
            Array.Copy(source, offset, _landmarks, 0, LandmarkFloats);
            _hasReference = true;
            _hasLandmarks = true;
        }

        void PushFrame(long index, double time, float[] weights, int weightOffset, float[] landmarks, int landmarkOffset, bool last)
        {
            int k = _names.Length;
            float[] frame = _frame; // the player copies it
            Array.Clear(frame, 0, frame.Length);
            if (weights.Length - weightOffset >= k) Array.Copy(weights, weightOffset, frame, 0, k);
            // Landmarks ride along as offsets from the neutral lips, so easing to neutral (0) closes the mouth.
            if (landmarks != null && landmarks.Length - landmarkOffset >= LandmarkFloats)
                for (int i = 0; i < LandmarkFloats; i++) frame[k + i] = landmarks[landmarkOffset + i] - _reference[i];
            _playback.PushFrame(index, time, frame, last);
        }

        void Split()
        {
            int k = _names.Length;
            Array.Copy(_channels, 0, _weights, 0, k);
            for (int i = 0; i < LandmarkFloats; i++) _landmarks[i] = _reference[i] + _channels[k + i];
        }

        /// <summary>Prepares the playback and the mesh mappings for a line's weight names (rebuilt
        /// only when they change). False (after failing the line) when it cannot be played.</summary>
        bool Configure(int utterance, string[] names)
        {
            _playing = utterance;
            _hasReference = false;
            _badFrames = 0;
            if (names == null || names.Length == 0)
            {
                Fail(utterance, "the line has no blend-shape weights (ModelInfo.blendshape_names is empty)");
                return false;
            }
            if (_playback != null && _names != null && SameNames(_names, names)) return true;
            var settings = new LipPlaybackSettings
            {
                PrebufferSeconds = prebufferSeconds,
                SmoothingSeconds = smoothingSeconds,
                UnderrunHoldSeconds = underrunHoldSeconds,
                NeutralEaseSeconds = neutralEaseSeconds,
            };
            var audioSettings = new AudioSettingsCore
            {
                PrebufferSeconds = audioPrebufferSeconds,
                BlockSeconds = UnityAudioOutput.DspBlockSeconds(),
            };
            audioSettings.GuardSeconds = Math.Max(audioSettings.GuardSeconds, 3 * audioSettings.BlockSeconds);
            _playback = new SpeechPlayback(names.Length + LandmarkFloats, settings, _audio, audioSettings);
            _names = (string[])names.Clone();
            _channels = new float[names.Length + LandmarkFloats];
            _frame = new float[names.Length + LandmarkFloats];
            _weights = new float[names.Length];
            BuildTargets(names);
            return true;
        }

        void BuildTargets(string[] names)
        {
            _targets.Clear();
            foreach (MouthTarget target in targets)
            {
                if (target == null || target.renderer == null || target.renderer.sharedMesh == null || target.map == null)
                {
                    Debug.LogWarning(name + ": a Mouth Target needs a SkinnedMeshRenderer with a mesh and a BlendShapeMap; skipped", this);
                    continue;
                }
                Mesh mesh = target.renderer.sharedMesh;
                BlendShapeMapping mapping = BlendShapeMapping.Build(names, target.map.Bindings, mesh.GetBlendShapeIndex);
                if (mapping.UnmatchedBindings.Length > 0)
                    Debug.LogWarning(name + ": bindings of " + target.map.name + " without a match (weight or mesh shape missing): "
                        + string.Join(", ", mapping.UnmatchedBindings), this);
                if (mapping.TargetIndices.Length == 0)
                    Debug.LogWarning(name + ": no blend shape of " + mesh.name + " is driven; use Auto-match in " + target.map.name, this);
                _targets.Add(new TargetState { Target = target, Mapping = mapping, MeshWeights = new float[mapping.TargetIndices.Length] });
            }
        }

        bool EnsureAudio()
        {
            if (audioSource == null) audioSource = GetComponent<AudioSource>();
            if (audioSource == null)
            {
                audioSource = gameObject.AddComponent<AudioSource>();
                audioSource.playOnAwake = false;
            }
            if (_audio == null || _audio.Source != audioSource)
            {
                if (_audio != null) _audio.Dispose();
                _audio = new UnityAudioOutput(audioSource);
                _playback = null; // rebuilt around the new output
                _names = null;
            }
            return true;
        }

        BakedLipClip FindBaked(string lineId)
        {
            if (string.IsNullOrEmpty(lineId)) return null;
            if (_baked == null || _baked.Count != bakedClips.Count)
            {
                _baked = new BakedLibrary();
                foreach (BakedLipClip clip in bakedClips)
                {
                    if (clip == null) continue;
                    try { _baked.Add(clip.Line); }
                    catch (FormatException e) { Debug.LogWarning(clip.name + ": " + e.Message, clip); }
                }
            }
            if (_baked.Find(lineId) == null) return null;
            foreach (BakedLipClip clip in bakedClips)
                if (clip != null && clip.LineId == lineId) return clip;
            return null;
        }

        void Fail(int utterance, string message)
        {
            if (!_life.IsCurrent(utterance)) return;
            onError.Invoke(message);
            if (!_life.IsCurrent(utterance)) return; // an onError listener spoke the next line
            if (_playback != null && _playing == utterance && _playback.Player.Buffer.AcceptedFrames > 0)
                _playback.EndOfStream(); // play what arrived; Update finishes it
            else
            {
                if (_playback != null && _playing == utterance) _playback.Stop();
                _life.Finish(utterance);
            }
        }

        void OnUtteranceFinished(int utterance)
        {
            onFinished.Invoke();
        }

        static bool SameNames(string[] a, string[] b)
        {
            if (a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return false;
            return true;
        }

        static float Max(float[] values)
        {
            float m = 0f;
            if (values == null) return m;
            foreach (float v in values) m = Mathf.Max(m, v);
            return m;
        }
    }
}
