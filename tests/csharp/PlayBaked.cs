// Reads .t2lb clips baked by the Python CLI with Text2Lips.Core and plays them, for
// tests/test_unity_baked.py: dumps what it read and what the player showed on each frame.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Text2Lips.Core;

/// <summary>A sound card that plays exactly in step with the ticks (one-shot or looping clip).</summary>
sealed class IdealOutput : IAudioOutput
{
    float[] _clip = new float[0];
    double _pos;
    public long Heard;
    public int SampleRate { get; private set; }
    public int LengthSamples { get { return _clip.Length; } }
    public int Position { get { return _clip.Length == 0 ? 0 : (int)((long)_pos % _clip.Length); } }
    public bool IsPlaying { get; private set; }
    public void OpenStream(int sampleRate, int lengthSamples) { SampleRate = sampleRate; _clip = new float[lengthSamples]; _pos = 0; IsPlaying = false; }
    public void Write(int offset, float[] ring, int count) { Array.Copy(ring, offset, _clip, offset, count); }
    public void Play() { IsPlaying = true; }
    public void Pause() { IsPlaying = false; }
    public void UnPause() { IsPlaying = true; }
    public void Stop() { IsPlaying = false; }
    public void Run(double seconds)
    {
        if (!IsPlaying) return;
        long before = (long)_pos;
        _pos += seconds * SampleRate;
        Heard += (long)_pos - before;
    }
}

static class PlayBaked
{
    static void WriteFloats(string path, float[] values)
    {
        using (var w = new BinaryWriter(File.Create(path)))
            foreach (float v in values) w.Write(v);
    }

    static int Main(string[] args)
    {
        string outDir = args[0];
        var summary = new StringBuilder("[");
        for (int a = 1; a < args.Length; a++)
        {
            BakedLine line;
            try { line = BakedLine.Read(File.ReadAllBytes(args[a])); }
            catch (FormatException e) { Console.Error.WriteLine(args[a] + ": " + e.Message); return 3; }
            int k = line.WeightNames.Length;
            var settings = new LipPlaybackSettings { PrebufferSeconds = 0, SmoothingSeconds = 0, UnderrunHoldSeconds = 0.1, NeutralEaseSeconds = 0.05 };
            var output = new IdealOutput();
            var playback = new SpeechPlayback(k, settings, output, new AudioSettingsCore { BlockSeconds = 0, PrebufferSeconds = 0 });
            playback.Begin(line.HasAudio ? SpeechMode.Streamed : SpeechMode.LipsOnly);
            line.PushTo(playback);
            var played = new List<float>();
            var weights = new float[k];
            double dt = 1.0 / line.FrameRate;
            int ticks = 0;
            bool finished = false;
            while (!finished && ticks < 100000)
            {
                PlayerEvents ev = playback.Tick(ticks == 0 ? 0 : dt, weights);
                output.Run(dt);
                finished = (ev & PlayerEvents.Finished) != 0;
                // The frame the lips show on this tick, while the line plays.
                if (playback.Player.State == PlaybackState.Playing || (finished && played.Count < line.FrameCount * k))
                    played.AddRange(weights);
                ticks++;
            }
            WriteFloats(Path.Combine(outDir, line.Id + ".landmarks.f32"), line.Landmarks);
            WriteFloats(Path.Combine(outDir, line.Id + ".weights.f32"), line.Weights);
            WriteFloats(Path.Combine(outDir, line.Id + ".played.f32"), played.ToArray());
            if (a > 1) summary.Append(",");
            summary.AppendFormat(System.Globalization.CultureInfo.InvariantCulture,
                "{{\"id\":\"{0}\",\"frames\":{1},\"weights\":{2},\"frame_rate\":{3},\"last_frame_s\":{4},\"audio_s\":{5},\"sample_rate\":{6},\"audio_heard\":{7},\"phonemes\":{8},\"words\":{9},\"timeline_s\":{10},\"finished\":{11},\"mode\":\"{12}\",\"first_name\":\"{13}\"}}",
                line.Id, line.FrameCount, k, line.FrameRate, line.LastFrameSeconds, line.AudioSeconds, line.SampleRate,
                output.Heard, line.Phonemes.Length, line.Words.Length, line.TimelineSeconds, finished ? "true" : "false",
                playback.Mode, k > 0 ? line.WeightNames[0] : "");
        }
        summary.Append("]");
        File.WriteAllText(Path.Combine(outDir, "summary.json"), summary.ToString());
        return 0;
    }
}
