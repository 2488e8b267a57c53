// One utterance heard and seen at once: streamed or clip audio, with the lips slaved to it.
using System;
using System.Collections.Generic;

namespace Text2Lips.Core
{
    /// <summary>Where an utterance's sound comes from.</summary>
    public enum SpeechMode
    {
        /// <summary>Voice chunks streamed with the frames (<see cref="SpeechPlayback.PushAudio"/>);
        /// when none arrive, it falls back to <see cref="LipsOnly"/>.</summary>
        Streamed,
        /// <summary>A clip already assigned to the output (a game's voice-over, a baked line): the
        /// lips follow its play position.</summary>
        Clip,
        /// <summary>No sound: the lips run on render time.</summary>
        LipsOnly,
    }

    /// <summary>Tuning of <see cref="SpeechPlayback"/>'s audio side.</summary>
    [Serializable]
    public sealed class AudioSettingsCore
    {
        /// <summary>Audio (s) to receive before the sound starts.</summary>
        public double PrebufferSeconds = 0.15;
        /// <summary>Length (s) of the looping clip the stream is written into.</summary>
        public double RingSeconds = 2.0;
        /// <summary>Region (s) ahead of the play position never rewritten (two DSP buffers or more).</summary>
        public double GuardSeconds = 0.06;
        /// <summary>One DSP buffer (s): how far the real play position may be ahead of the reported one.</summary>
        public double BlockSeconds = 1024.0 / 48000.0;
        /// <summary>Lips (s) received with no audio before a streamed utterance plays silently.</summary>
        public double AudioWaitSeconds = 0.5;
    }

    /// <summary>
    /// Plays one utterance's lips in sync with its sound. The sound is the truth: the lips are
    /// shown at the utterance time of the audible sample (<see cref="StreamingAudio"/> maps the
    /// source's position back to utterance time, <see cref="AudioSyncClock"/> smooths its
    /// coarse steps), so a render hitch, a pause or a network stall moves both together.
    /// Without sound the lips run on render time as <see cref="LipSyncPlayer.Tick"/> does.
    /// Call <see cref="Tick"/> once per rendered frame. Pure C#: the engine is an <see cref="IAudioOutput"/>.
    /// </summary>
    public sealed class SpeechPlayback
    {
        readonly LipSyncPlayer _player;
        readonly IAudioOutput _output;
        readonly StreamingAudio _stream;
        readonly AudioSyncClock _clock;
        readonly AudioSettingsCore _audio;
        SpeechMode _mode;
        bool _paused;
        bool _clipStarted;
        bool _lipsDone, _audioDone, _finishedReported;
        double _freeTime = double.NaN; // render-time continuation once the sound has ended
        bool _ranBefore; // the sound was running at the previous tick, so during this tick's dt

        /// <summary>Creates an idle playback.</summary>
        /// <param name="weightCount">Weights per frame.</param>
        /// <param name="settings">Lip playback tuning.</param>
        /// <param name="output">The engine's audio source; null: lips only.</param>
        /// <param name="audio">Audio tuning.</param>
        public SpeechPlayback(int weightCount, LipPlaybackSettings settings, IAudioOutput output, AudioSettingsCore audio = null)
        {
            _audio = audio ?? new AudioSettingsCore();
            _player = new LipSyncPlayer(weightCount, settings);
            _output = output;
            if (output != null) _stream = new StreamingAudio(output, _audio.PrebufferSeconds, _audio.RingSeconds, _audio.GuardSeconds);
            _clock = new AudioSyncClock(_audio.BlockSeconds);
        }

        /// <summary>The lip player (frames, statistics).</summary>
        public LipSyncPlayer Player { get { return _player; } }

        /// <summary>The streamed-audio writer; null without an output.</summary>
        public StreamingAudio Stream { get { return _stream; } }

        /// <summary>How the current utterance sounds (a streamed one without audio turns into <see cref="SpeechMode.LipsOnly"/>).</summary>
        public SpeechMode Mode { get { return _mode; } }

        /// <summary>Utterance time (s) shown by the lips.</summary>
        public double Time { get { return _player.Time; } }

        /// <summary>True from <see cref="Begin"/> until the tick that reports <see cref="PlayerEvents.Finished"/>.</summary>
        public bool IsBusy { get; private set; }

        /// <summary>True while paused by <see cref="Pause"/>.</summary>
        public bool IsPaused { get { return _paused; } }

        /// <summary>Starts an utterance. For <see cref="SpeechMode.Clip"/> the output must already hold the clip.</summary>
        public void Begin(SpeechMode mode)
        {
            if (_output == null && mode != SpeechMode.LipsOnly) mode = SpeechMode.LipsOnly;
            if (_stream != null) _stream.Stop();
            if (_output != null && _clipStarted) _output.Stop();
            _mode = mode;
            _player.Begin();
            _clock.Reset();
            _paused = _clipStarted = _lipsDone = _audioDone = _finishedReported = false;
            _freeTime = double.NaN;
            _ranBefore = false;
            if (mode == SpeechMode.Streamed) _stream.Begin();
            IsBusy = true;
        }

        /// <summary>Adds a lip frame (see <see cref="LipSyncPlayer.Push"/>).</summary>
        public PushResult PushFrame(long index, double timeSeconds, IList<float> weights, bool last)
        {
            return _player.Push(index, timeSeconds, weights, last);
        }

        /// <summary>Adds a piece of streamed voice; ignored unless the mode is <see cref="SpeechMode.Streamed"/>.</summary>
        public void PushAudio(AudioChunk chunk)
        {
            if (_mode == SpeechMode.Streamed && IsBusy) _stream.Push(chunk);
        }

        /// <summary>The server's stream ended: no more frames or audio.</summary>
        public void EndOfStream()
        {
            _player.EndOfStream();
            if (_mode == SpeechMode.Streamed) _stream.EndOfStream();
        }

        /// <summary>Stops now; the mouth eases to neutral and the next tick reports Finished.</summary>
        public void Stop()
        {
            _player.Stop();
            if (_stream != null) _stream.Stop();
            if (_output != null && _clipStarted) _output.Stop();
            _clipStarted = false;
            _audioDone = true;
            _paused = false;
        }

        /// <summary>Pauses sound and lips (a game pause); <see cref="Resume"/> continues both.</summary>
        public void Pause()
        {
            if (_paused || !IsBusy) return;
            _paused = true;
            if (_output != null && AudioRunning()) _output.Pause();
        }

        /// <summary>Continues after <see cref="Pause"/>.</summary>
        public void Resume()
        {
            if (!_paused) return;
            _paused = false;
            if (_output != null && AudioRunning()) _output.UnPause();
        }

        /// <summary>Advances one rendered frame of <paramref name="dt"/> seconds (render time; the
        /// sound keeps its own) and writes the weights to show into <paramref name="output"/>.</summary>
        public PlayerEvents Tick(double dt, float[] output)
        {
            if (double.IsNaN(dt) || dt < 0) dt = 0;
            PlayerEvents events;
            if (_mode == SpeechMode.LipsOnly || !IsBusy) events = _player.Tick(_paused ? 0 : dt, output);
            else events = _mode == SpeechMode.Streamed ? TickStreamed(dt, output) : TickClip(dt, output);
            if ((events & PlayerEvents.Finished) != 0) _lipsDone = true;
            events &= ~PlayerEvents.Finished;
            if (_mode == SpeechMode.LipsOnly) _audioDone = true;
            if (IsBusy && _lipsDone && _audioDone && !_finishedReported)
            {
                _finishedReported = true;
                IsBusy = false;
                events |= PlayerEvents.Finished;
            }
            return events;
        }

        bool AudioRunning()
        {
            if (_mode == SpeechMode.Clip) return _clipStarted;
            return _mode == SpeechMode.Streamed && (_stream.State == AudioState.Playing || _stream.State == AudioState.Starved);
        }

        PlayerEvents TickStreamed(double dt, float[] output)
        {
            AudioState state = _paused ? _stream.State : _stream.Pump();
            if (state == AudioState.Buffering && _stream.SampleRate == 0 && !_stream.Ended)
            {
                // No voice yet: a server without one (or a lips-only request) plays silently.
                double newest = _player.Buffer.NewestTime;
                if (!double.IsNaN(newest) && newest >= _audio.AudioWaitSeconds)
                {
                    _mode = SpeechMode.LipsOnly;
                    _stream.Stop();
                    return _player.Tick(dt, output);
                }
            }
            if (state == AudioState.Finished && _stream.SampleRate == 0)
            {
                _mode = SpeechMode.LipsOnly; // the stream ended without any audio
                return _player.Tick(_paused ? 0 : dt, output);
            }
            if (state == AudioState.Buffering) return _player.TickAt(double.NaN, dt, output);
            if (state == AudioState.Finished)
            {
                _audioDone = true;
                return FreeRun(dt, output);
            }
            bool running = state == AudioState.Playing && !_paused && !_stream.InGap;
            double t = _clock.Update(_stream.UtteranceSeconds, _ranBefore, dt);
            _ranBefore = running;
            return _player.TickAt(t, dt, output);
        }

        PlayerEvents TickClip(double dt, float[] output)
        {
            int rate = _output.SampleRate;
            if (!_clipStarted)
            {
                // Wait for the lips' prebuffer (frames still streaming in for a game's clip).
                double newest = _player.Buffer.NewestTime;
                bool ready = _player.Buffer.LastReceived || (!double.IsNaN(newest) && newest >= _player.PrebufferSeconds);
                if (!ready || _paused) return _player.TickAt(double.NaN, dt, output);
                _output.Play();
                _clipStarted = true;
                _clock.Reset();
            }
            if (_audioDone) return FreeRun(dt, output);
            bool playing = _output.IsPlaying;
            if (!playing && !_paused)
            {
                _audioDone = true; // a one-shot clip stops itself at its end
                _freeTime = _output.LengthSamples / (double)rate;
                return FreeRun(dt, output);
            }
            bool running = playing && !_paused;
            double t = _clock.Update(_output.Position / (double)rate, _ranBefore, dt);
            _ranBefore = running;
            return _player.TickAt(t, dt, output);
        }

        PlayerEvents FreeRun(double dt, float[] output)
        {
            // The sound is over; frames past its end (if any) play on render time.
            if (double.IsNaN(_freeTime)) _freeTime = Math.Max(_player.Time, _clock.Time);
            else if (!_paused) _freeTime += dt;
            return _player.TickAt(_freeTime, dt, output);
        }
    }
}
