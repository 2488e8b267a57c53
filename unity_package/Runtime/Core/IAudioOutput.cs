// What the playback core needs from the engine's audio: a clip to write, a position, play/pause.
namespace Text2Lips.Core
{
    /// <summary>
    /// The engine side of <see cref="SpeechPlayback"/>: in Unity an <c>AudioSource</c> playing a
    /// looping <c>AudioClip</c> (for streamed voice) or a game's own clip. The core never touches
    /// the engine; the glue implements this in a few lines and tests implement it with a
    /// simulated sound card.
    /// </summary>
    public interface IAudioOutput
    {
        /// <summary>Makes a silent looping clip of <paramref name="lengthSamples"/> mono samples at
        /// <paramref name="sampleRate"/> the source plays (stopped, at position 0).</summary>
        void OpenStream(int sampleRate, int lengthSamples);

        /// <summary>Samples per second of the clip being played.</summary>
        int SampleRate { get; }

        /// <summary>Length of the clip being played, in samples.</summary>
        int LengthSamples { get; }

        /// <summary>Play position in the clip, in samples (Unity: <c>AudioSource.timeSamples</c>).
        /// It may move in steps of one DSP buffer.</summary>
        int Position { get; }

        /// <summary>True while the source is playing (false when stopped, paused, or at the end of a one-shot clip).</summary>
        bool IsPlaying { get; }

        /// <summary>Copies <paramref name="count"/> samples of <paramref name="ring"/>, from index
        /// <paramref name="offset"/>, into the clip at the same offset (Unity: <c>AudioClip.SetData</c>).
        /// <paramref name="count"/> is always <see cref="StreamingAudio.WriteBlockSamples"/>, so
        /// the glue can reuse one array.</summary>
        void Write(int offset, float[] ring, int count);

        /// <summary>Starts playing from the current position.</summary>
        void Play();

        /// <summary>Pauses, keeping the position.</summary>
        void Pause();

        /// <summary>Resumes after <see cref="Pause"/>.</summary>
        void UnPause();

        /// <summary>Stops.</summary>
        void Stop();
    }
}
