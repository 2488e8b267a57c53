// A piece of the voice: PCM16 mono samples and where they start in the utterance.
using System;

namespace Text2Lips.Core
{
    /// <summary>
    /// One piece of an utterance's voice audio as the sidecar sends it (or as a baked clip holds
    /// it): 16-bit mono PCM at <see cref="SampleRate"/>, starting <see cref="StartSeconds"/> after
    /// the utterance start, on the same time axis as the lip frames' <c>time_s</c>.
    /// </summary>
    public sealed class AudioChunk
    {
        /// <summary>Creates a chunk; the array is kept, not copied.</summary>
        public AudioChunk(short[] pcm, int sampleRate, double startSeconds)
        {
            if (pcm == null) throw new ArgumentNullException("pcm");
            if (sampleRate <= 0) throw new ArgumentOutOfRangeException("sampleRate", sampleRate, "must be > 0");
            if (double.IsNaN(startSeconds) || double.IsInfinity(startSeconds) || startSeconds < 0)
                throw new ArgumentOutOfRangeException("startSeconds", startSeconds, "must be a finite number >= 0");
            Pcm = pcm;
            SampleRate = sampleRate;
            StartSeconds = startSeconds;
        }

        /// <summary>Mono samples, 16-bit signed.</summary>
        public short[] Pcm { get; private set; }

        /// <summary>Samples per second.</summary>
        public int SampleRate { get; private set; }

        /// <summary>Where the first sample plays, in seconds from the utterance start.</summary>
        public double StartSeconds { get; private set; }

        /// <summary>Length in seconds.</summary>
        public double DurationSeconds { get { return Pcm.Length / (double)SampleRate; } }

        /// <summary>Index of the first sample on the utterance's sample axis (start rounded to a sample).</summary>
        public long StartSample { get { return (long)Math.Round(StartSeconds * SampleRate); } }

        /// <summary>A PCM16 sample as Unity's float range [-1, 1).</summary>
        public static float ToFloat(short sample)
        {
            return sample / 32768f;
        }

        /// <summary>Little-endian PCM16 bytes (the wire and WAV layout) as samples.</summary>
        public static short[] FromLittleEndianBytes(byte[] bytes, int offset, int count)
        {
            if (bytes == null) throw new ArgumentNullException("bytes");
            if (count < 0 || (count & 1) != 0 || offset < 0 || offset + count > bytes.Length)
                throw new ArgumentException("PCM16 needs an even byte count inside the array, got offset " + offset + " count " + count, "count");
            var pcm = new short[count / 2];
            for (int i = 0; i < pcm.Length; i++)
                pcm[i] = (short)(bytes[offset + 2 * i] | (bytes[offset + 2 * i + 1] << 8));
            return pcm;
        }
    }
}
