// The seam between the avatar and the network: the sidecar behind an interface, so the avatar,
// baked clips and the samples compile and run where gRPC does not (WebGL, a project without the DLLs).
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Text2Lips.Core;

namespace Text2Lips
{
    /// <summary>What to ask the sidecar for.</summary>
    public sealed class RemoteRequest
    {
        /// <summary>The text to speak.</summary>
        public string Text = "";
        /// <summary>A speaker of the model; empty: its default.</summary>
        public string Speaker = "";
        /// <summary>Frames per second: 0 (native 80), 60 or 30.</summary>
        public float FrameRate;
        /// <summary>Ask for the voice audio as well (a sidecar without a voice sends none; the line then plays silently).</summary>
        public bool WithAudio = true;
        /// <summary>If &gt; 0, stretch the lips to this length (s): a game's own clip.</summary>
        public double TargetDurationSeconds;
        /// <summary>Word timing of a game's own clip; null when unknown.</summary>
        public IList<TimedWord> Marks;
        /// <summary>Longest time (s) the whole call may take.</summary>
        public double DeadlineSeconds = 120;
        /// <summary>Longest wait (s) for the first frame; a hung sidecar fails after it.</summary>
        public double FirstFrameTimeoutSeconds = 5;
        /// <summary>Time (s) an utterance may spend retrying an unreachable sidecar.</summary>
        public double RetryBudgetSeconds = 2;
    }

    /// <summary>What a <see cref="RemoteEvent"/> carries.</summary>
    public enum RemoteEventKind
    {
        /// <summary>The model's weight names and neutral lips (before the first frame).</summary>
        Info,
        /// <summary>A lip frame.</summary>
        Frame,
        /// <summary>A piece of voice audio.</summary>
        Audio,
        /// <summary>The stream ended normally.</summary>
        End,
        /// <summary>The call failed; <see cref="RemoteEvent.Error"/> says why.</summary>
        Error,
    }

    /// <summary>One thing the sidecar sent (or a failure), handed from a network thread to the avatar.</summary>
    public sealed class RemoteEvent
    {
        /// <summary>What it is.</summary>
        public RemoteEventKind Kind;
        /// <summary>Info: blend-shape weight names, in frame order.</summary>
        public string[] WeightNames;
        /// <summary>Info: the speaker's neutral lips (60 floats), or null.</summary>
        public float[] Reference;
        /// <summary>Frame: index within the utterance.</summary>
        public long Index;
        /// <summary>Frame: time (s) from the utterance start.</summary>
        public double TimeSeconds;
        /// <summary>Frame: blend-shape weights.</summary>
        public float[] Weights;
        /// <summary>Frame: 60 landmark floats (may be empty).</summary>
        public float[] Landmarks;
        /// <summary>Frame: the utterance's final frame.</summary>
        public bool Last;
        /// <summary>Audio: the chunk.</summary>
        public AudioChunk Audio;
        /// <summary>Error: a message a person can act on.</summary>
        public string Error;
        /// <summary>Error: the sidecar could not be reached (down, breaker open, timed out), as opposed to a refused request.</summary>
        public bool Unreachable;
    }

    /// <summary>A connection to one sidecar, shared by every avatar that uses its address.</summary>
    public interface ILipSyncRemote
    {
        /// <summary>The sidecar's address.</summary>
        string Address { get; }

        /// <summary>Speaks <paramref name="request"/>; every frame, chunk, end or failure goes to
        /// <paramref name="onEvent"/> (on a network thread). Never throws; ends quietly when
        /// <paramref name="cancellationToken"/> is cancelled.</summary>
        Task SpeakAsync(RemoteRequest request, Action<RemoteEvent> onEvent, CancellationToken cancellationToken);
    }

    /// <summary>
    /// Where avatars get their <see cref="ILipSyncRemote"/>: one per (address, token), shared and
    /// reference-counted. The network assembly (Text2Lips.Network, compiled only when
    /// grpc-dotnet, Google.Protobuf and YetAnotherHttpHandler are installed, and never on WebGL)
    /// registers the factory when the game loads; without it, live speech fails with
    /// <see cref="UnavailableReason"/> and baked clips still play.
    /// </summary>
    public static class LipSyncRemotes
    {
        static readonly Dictionary<string, KeyValuePair<ILipSyncRemote, int>> Shared = new Dictionary<string, KeyValuePair<ILipSyncRemote, int>>();
        static readonly object Gate = new object();

        /// <summary>Makes a remote for (address, bearer token); set by Text2Lips.Network.</summary>
        public static Func<string, string, ILipSyncRemote> Factory;

        /// <summary>Why live speech is unavailable in this build (null when it is available).</summary>
        public static string UnavailableReason
        {
            get
            {
                if (Factory != null) return null;
#if UNITY_WEBGL
                return "live speech needs the text2lips sidecar over gRPC (HTTP/2), which WebGL cannot open; bake the line (text2lips bake) and add it to the avatar's Baked Clips";
#else
                return "the Text2Lips.Network assembly is not compiled: install org.nuget.grpc.net.client, org.nuget.google.protobuf and com.cysharp.yetanotherhttphandler (see the package README), or play baked clips";
#endif
            }
        }

        /// <summary>The shared remote for an address and token (one more user); null when unavailable.</summary>
        public static ILipSyncRemote Acquire(string address, string token)
        {
            if (Factory == null) return null;
            string key = address + "\n" + (token ?? "");
            lock (Gate)
            {
                KeyValuePair<ILipSyncRemote, int> entry;
                if (!Shared.TryGetValue(key, out entry)) entry = new KeyValuePair<ILipSyncRemote, int>(Factory(address, token), 0);
                Shared[key] = new KeyValuePair<ILipSyncRemote, int>(entry.Key, entry.Value + 1);
                return entry.Key;
            }
        }

        /// <summary>One user fewer; the last one closes the connection.</summary>
        public static void Release(ILipSyncRemote remote)
        {
            if (remote == null) return;
            lock (Gate)
            {
                foreach (KeyValuePair<string, KeyValuePair<ILipSyncRemote, int>> e in Shared)
                {
                    if (!ReferenceEquals(e.Value.Key, remote)) continue;
                    if (e.Value.Value > 1) Shared[e.Key] = new KeyValuePair<ILipSyncRemote, int>(remote, e.Value.Value - 1);
                    else
                    {
                        Shared.Remove(e.Key);
                        var disposable = remote as IDisposable;
                        if (disposable != null) disposable.Dispose();
                    }
                    return;
                }
            }
        }
    }
}
