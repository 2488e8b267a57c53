// A dialogue line baked by `text2lips bake`: frames, weights, timeline and audio, read from .t2lb bytes.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Text2Lips.Core
{
    /// <summary>A phoneme of a baked line's timeline.</summary>
    public struct BakedPhoneme
    {
        /// <summary>espeak-ng mnemonic; "_" is a pause.</summary>
        public string Phoneme;
        /// <summary>Start (s).</summary>
        public double StartSeconds;
        /// <summary>End (s).</summary>
        public double EndSeconds;
        /// <summary>Index into <see cref="BakedLine.Words"/>; -1 for pauses.</summary>
        public int WordIndex;
        /// <summary>Lexical stress (1 primary, 2 secondary, 0 none or unknown).</summary>
        public int Stress;
    }

    /// <summary>A word of a baked line's timeline (also the timing marks of <c>Speak(text, clip, marks)</c>).</summary>
    public struct TimedWord
    {
        /// <summary>The word.</summary>
        public string Word;
        /// <summary>Start (s).</summary>
        public double StartSeconds;
        /// <summary>End (s).</summary>
        public double EndSeconds;
    }

    /// <summary>
    /// One line rendered ahead of time by <c>text2lips bake</c>: everything needed to play it with
    /// no sidecar, on any platform. The layout of the <c>.t2lb</c> bytes (little-endian; str =
    /// u32 byte count + UTF-8) is: "T2LB", u32 version 1; str id, text, voice, model; f64
    /// frame rate, u32 frames T, u32 floats per frame L (60), u32 weights K; K str names; T f64
    /// times; T·L f32 landmarks; T·K f32 weights; u32 P and P × (str phoneme, f64 start, f64
    /// end, i32 word index, i32 stress); u32 W and W × (str word, f64 start, f64 end); f64
    /// timeline duration; u32 sample rate (0: silent), u32 N, N i16 PCM; "T2LE".
    /// </summary>
    public sealed class BakedLine
    {
        /// <summary>The layout version this reader knows.</summary>
        public const int Version = 1;

        BakedLine() { }

        /// <summary>The line id (the CSV's <c>id</c>).</summary>
        public string Id { get; private set; }
        /// <summary>What is said.</summary>
        public string Text { get; private set; }
        /// <summary>The voice it was rendered with; "none" for a silent line.</summary>
        public string Voice { get; private set; }
        /// <summary>The model that made the lips.</summary>
        public string Model { get; private set; }
        /// <summary>Frames per second.</summary>
        public double FrameRate { get; private set; }
        /// <summary>Frames.</summary>
        public int FrameCount { get; private set; }
        /// <summary>Floats per frame of <see cref="Landmarks"/> (60: x, y, z of lip points 48..67).</summary>
        public int LandmarkFloats { get; private set; }
        /// <summary>Weight names, in the order of each frame's weights.</summary>
        public string[] WeightNames { get; private set; }
        /// <summary>Time (s) of each frame.</summary>
        public double[] Times { get; private set; }
        /// <summary>Landmarks, frame-major: frame f starts at f·<see cref="LandmarkFloats"/> (head space, mm).</summary>
        public float[] Landmarks { get; private set; }
        /// <summary>Blend-shape weights in [0, 1], frame-major: frame f starts at f·WeightNames.Length.</summary>
        public float[] Weights { get; private set; }
        /// <summary>The timeline's phonemes.</summary>
        public BakedPhoneme[] Phonemes { get; private set; }
        /// <summary>The timeline's words.</summary>
        public TimedWord[] Words { get; private set; }
        /// <summary>Timeline duration (s).</summary>
        public double TimelineSeconds { get; private set; }
        /// <summary>Audio sample rate; 0 for a silent line.</summary>
        public int SampleRate { get; private set; }
        /// <summary>Mono PCM16 audio; empty for a silent line.</summary>
        public short[] Audio { get; private set; }

        /// <summary>True when the line has audio.</summary>
        public bool HasAudio { get { return SampleRate > 0 && Audio.Length > 0; } }

        /// <summary>Audio length (s); 0 when silent.</summary>
        public double AudioSeconds { get { return HasAudio ? Audio.Length / (double)SampleRate : 0; } }

        /// <summary>Time of the last frame (s).</summary>
        public double LastFrameSeconds { get { return FrameCount == 0 ? 0 : Times[FrameCount - 1]; } }

        /// <summary>The weights of frame <paramref name="frame"/> (a copy).</summary>
        public float[] FrameWeights(int frame)
        {
            if (frame < 0 || frame >= FrameCount) throw new ArgumentOutOfRangeException("frame", frame, "must be in [0, " + FrameCount + ")");
            var w = new float[WeightNames.Length];
            Array.Copy(Weights, frame * WeightNames.Length, w, 0, w.Length);
            return w;
        }

        /// <summary>Queues the whole line on a playback (call after <see cref="SpeechPlayback.Begin"/>):
        /// every frame, then the audio as one chunk when it has any, then the end of stream.</summary>
        public void PushTo(SpeechPlayback playback)
        {
            if (playback == null) throw new ArgumentNullException("playback");
            for (int f = 0; f < FrameCount; f++) playback.PushFrame(f, Times[f], FrameWeights(f), f == FrameCount - 1);
            if (HasAudio) playback.PushAudio(new AudioChunk(Audio, SampleRate, 0));
            playback.EndOfStream();
        }

        /// <summary>Reads a line from <c>.t2lb</c> bytes; <see cref="FormatException"/> says what is wrong.</summary>
        public static BakedLine Read(byte[] data)
        {
            if (data == null) throw new ArgumentNullException("data");
            try
            {
                using (var r = new BinaryReader(new MemoryStream(data, false), Encoding.UTF8))
                {
                    return Read(r, data.Length);
                }
            }
            catch (EndOfStreamException)
            {
                throw new FormatException("truncated .t2lb data (" + data.Length + " bytes)");
            }
        }

        static BakedLine Read(BinaryReader r, long size)
        {
            // BinaryReader is little-endian on every platform, as the layout is.
            if (Encoding.ASCII.GetString(r.ReadBytes(4)) != "T2LB") throw new FormatException("not a .t2lb file (bad magic)");
            int version = r.ReadInt32();
            if (version != Version) throw new FormatException(".t2lb version " + version + "; this reader knows " + Version);
            var line = new BakedLine();
            line.Id = Str(r, size);
            line.Text = Str(r, size);
            line.Voice = Str(r, size);
            line.Model = Str(r, size);
            line.FrameRate = r.ReadDouble();
            int t = Count(r, size, 4), l = Count(r, size, 4), k = Count(r, size, 4);
            if (!(line.FrameRate > 0)) throw new FormatException("frame rate " + line.FrameRate + " must be > 0");
            if ((long)t * (8 + 4L * (l + k)) > size) throw new FormatException(t + " frames do not fit in " + size + " bytes");
            line.FrameCount = t;
            line.LandmarkFloats = l;
            line.WeightNames = new string[k];
            for (int i = 0; i < k; i++) line.WeightNames[i] = Str(r, size);
            line.Times = new double[t];
            for (int i = 0; i < t; i++) line.Times[i] = r.ReadDouble();
            line.Landmarks = Floats(r, t * l);
            line.Weights = Floats(r, t * k);
            int p = Count(r, size, 28);
            line.Phonemes = new BakedPhoneme[p];
            for (int i = 0; i < p; i++)
                line.Phonemes[i] = new BakedPhoneme { Phoneme = Str(r, size), StartSeconds = r.ReadDouble(), EndSeconds = r.ReadDouble(), WordIndex = r.ReadInt32(), Stress = r.ReadInt32() };
            int w = Count(r, size, 20);
            line.Words = new TimedWord[w];
            for (int i = 0; i < w; i++) line.Words[i] = new TimedWord { Word = Str(r, size), StartSeconds = r.ReadDouble(), EndSeconds = r.ReadDouble() };
            line.TimelineSeconds = r.ReadDouble();
            line.SampleRate = r.ReadInt32();
            int n = Count(r, size, 2);
            if (line.SampleRate < 0 || (n > 0 && line.SampleRate == 0)) throw new FormatException("audio without a sample rate");
            line.Audio = new short[n];
            for (int i = 0; i < n; i++) line.Audio[i] = r.ReadInt16();
            if (Encoding.ASCII.GetString(r.ReadBytes(4)) != "T2LE") throw new FormatException("missing end marker: the file is cut or corrupt");
            if (r.BaseStream.Position != size) throw new FormatException((size - r.BaseStream.Position) + " trailing bytes after the end marker");
            return line;
        }

        static int Count(BinaryReader r, long size, int bytesEach)
        {
            uint n = r.ReadUInt32();
            if ((long)n * bytesEach > size) throw new FormatException("a count of " + n + " does not fit in " + size + " bytes");
            return (int)n;
        }

        static string Str(BinaryReader r, long size)
        {
            int n = Count(r, size, 1);
            byte[] b = r.ReadBytes(n);
            if (b.Length != n) throw new EndOfStreamException();
            return Encoding.UTF8.GetString(b);
        }

        static float[] Floats(BinaryReader r, int n)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = r.ReadSingle();
            return a;
        }
    }

    /// <summary>Baked lines by id: what an avatar looks in before asking the sidecar.</summary>
    public sealed class BakedLibrary
    {
        readonly Dictionary<string, BakedLine> _lines = new Dictionary<string, BakedLine>();

        /// <summary>Adds (or replaces) a line under its id.</summary>
        public void Add(BakedLine line)
        {
            if (line == null) throw new ArgumentNullException("line");
            _lines[line.Id] = line;
        }

        /// <summary>The line baked under <paramref name="id"/>, or null.</summary>
        public BakedLine Find(string id)
        {
            BakedLine line;
            return id != null && _lines.TryGetValue(id, out line) ? line : null;
        }

        /// <summary>Lines held.</summary>
        public int Count { get { return _lines.Count; } }
    }
}
