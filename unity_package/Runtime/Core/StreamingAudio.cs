// Streamed voice into a looping clip: prebuffer, write ahead of the playhead, stall on underrun.
using System;

namespace Text2Lips.Core
{
    /// <summary>Where a streamed voice stands.</summary>
    public enum AudioState
    {
        /// <summary>Nothing opened.</summary>
        Idle,
        /// <summary>Waiting for the prebuffer before playing.</summary>
        Buffering,
        /// <summary>The source plays.</summary>
        Playing,
        /// <summary>The playhead caught up with the audio received; the source is paused until more arrives.</summary>
        Starved,
        /// <summary>Everything received has been played.</summary>
        Finished,
    }

    /// <summary>
    /// Plays streamed audio chunks through a looping clip used as a ring buffer, the usual way to
    /// stream into a Unity <c>AudioSource</c>. It holds a mirror of the clip, writes received audio
    /// ahead of the playhead (never into the DSP buffers already fetched), pads the rest with
    /// silence so an old lap never replays, starts once <see cref="PrebufferSeconds"/> have
    /// arrived, and pauses the source when the playhead catches up with the audio, resuming
    /// after a silence gap. It maps the play position back to utterance time, so lips that
    /// follow <see cref="UtteranceSeconds"/> stay on the sound through stalls.
    /// </summary>
    public sealed class StreamingAudio
    {
        /// <summary>Samples per <see cref="IAudioOutput.Write"/>.</summary>
        public const int WriteBlockSamples = 1024;

        readonly IAudioOutput _output;
        float[] _ring;
        int _length;      // clip length (samples), a multiple of WriteBlockSamples
        int _guard;       // samples ahead of the reported playhead that are never rewritten
        int _rate;
        // Received audio not yet in the ring, as a queue over a growable array.
        float[] _pending = new float[0];
        int _pendingHead, _pendingCount;
        long _receivedEnd;   // utterance samples received (end of the pending queue)
        // Absolute clip positions (laps unrolled).
        long _played;        // reported playhead
        int _lastPosition;
        long _writeEnd;      // end of real audio written
        long _padEnd;        // end of silence written beyond it
        long _offset;        // absolute position = utterance sample + _offset (grows with stalls)
        long _gapStart, _gapEnd;  // the latest stall's silence
        long _offsetBeforeGap;    // _offset for positions before it
        long _dirtyFrom = long.MaxValue, _dirtyTo = long.MinValue;
        bool _ended;

        /// <summary>Creates a stream writer for an output.</summary>
        /// <param name="output">The engine's audio source.</param>
        /// <param name="prebufferSeconds">Audio (s) to receive before playing.</param>
        /// <param name="ringSeconds">Clip length (s): the most audio written ahead, and the longest hitch survived.</param>
        /// <param name="guardSeconds">Time (s) ahead of the reported play position never rewritten:
        /// at least two DSP buffers of the engine.</param>
        public StreamingAudio(IAudioOutput output, double prebufferSeconds = 0.15, double ringSeconds = 2.0, double guardSeconds = 0.06)
        {
            if (output == null) throw new ArgumentNullException("output");
            if (!(prebufferSeconds >= 0)) throw new ArgumentOutOfRangeException("prebufferSeconds", prebufferSeconds, "must be >= 0");
            if (!(guardSeconds > 0)) throw new ArgumentOutOfRangeException("guardSeconds", guardSeconds, "must be > 0");
            if (!(ringSeconds >= 4 * guardSeconds)) throw new ArgumentOutOfRangeException("ringSeconds", ringSeconds, "must be >= 4 x guardSeconds");
            _output = output;
            PrebufferSeconds = prebufferSeconds;
            RingSeconds = ringSeconds;
            GuardSeconds = guardSeconds;
        }

        /// <summary>Audio (s) received before the source starts, and again after a stall.</summary>
        public double PrebufferSeconds { get; private set; }
        /// <summary>Clip length (s).</summary>
        public double RingSeconds { get; private set; }
        /// <summary>Region (s) ahead of the play position that is never rewritten.</summary>
        public double GuardSeconds { get; private set; }
        /// <summary>Current state.</summary>
        public AudioState State { get; private set; }
        /// <summary>Sample rate of this utterance's audio; 0 until the first chunk.</summary>
        public int SampleRate { get { return _rate; } }
        /// <summary>Audio received so far (s of utterance time).</summary>
        public double ReceivedSeconds { get { return _rate == 0 ? 0 : _receivedEnd / (double)_rate; } }
        /// <summary>True once <see cref="EndOfStream"/> was called.</summary>
        public bool Ended { get { return _ended; } }
        /// <summary>Times the playhead caught up with the audio and the source paused.</summary>
        public int Stalls { get; private set; }
        /// <summary>Chunks ignored (another sample rate than the first chunk's).</summary>
        public int RejectedChunks { get; private set; }
        /// <summary>True while the reported position lies in the silence of a stall, not in the utterance.</summary>
        public bool InGap { get { return _played >= _gapStart && _played < _gapEnd; } }

        /// <summary>The utterance time (s) at the reported play position; frozen during a stall's silence.</summary>
        public double UtteranceSeconds
        {
            get
            {
                if (_rate == 0) return 0;
                long u;
                if (_played < _gapStart) u = _played - _offsetBeforeGap; // audio from before the stall
                else if (_played < _gapEnd) u = _gapStart - _offsetBeforeGap; // its silence: hold
                else u = _played - _offset;
                u = Math.Min(u, _writeEnd - _offset);
                return Math.Max(0, u) / (double)_rate;
            }
        }

        /// <summary>Starts a new utterance (stopping the source); audio comes through <see cref="Push"/>.</summary>
        public void Begin()
        {
            if (State == AudioState.Playing || State == AudioState.Starved) _output.Stop();
            State = AudioState.Buffering;
            _rate = 0;
            _pendingHead = _pendingCount = 0;
            _receivedEnd = _played = _writeEnd = _padEnd = _offset = _gapStart = _gapEnd = _offsetBeforeGap = 0;
            _lastPosition = 0;
            _ended = false;
            Stalls = RejectedChunks = 0;
            _dirtyFrom = long.MaxValue;
            _dirtyTo = long.MinValue;
        }

        /// <summary>Adds a received chunk. Gaps before it become silence; samples already received are skipped.</summary>
        public void Push(AudioChunk chunk)
        {
            if (chunk == null) throw new ArgumentNullException("chunk");
            if (State == AudioState.Idle || State == AudioState.Finished || _ended) return;
            if (_rate == 0) Open(chunk.SampleRate);
            else if (chunk.SampleRate != _rate)
            {
                RejectedChunks++;
                return;
            }
            long start = chunk.StartSample, end = start + chunk.Pcm.Length;
            if (end <= _receivedEnd) return;
            // A gap can only be filled while its place is still ahead of the playhead.
            long silence = Math.Max(0, start - _receivedEnd);
            long skip = Math.Max(0, _receivedEnd - start);
            Reserve(_pendingCount + (int)(silence + end - start - skip));
            for (long i = 0; i < silence; i++) Enqueue(0f);
            for (long i = skip; i < chunk.Pcm.Length; i++) Enqueue(AudioChunk.ToFloat(chunk.Pcm[i]));
            _receivedEnd = end;
        }

        /// <summary>No more audio will come for this utterance.</summary>
        public void EndOfStream()
        {
            _ended = true;
        }

        /// <summary>Stops the source and forgets the utterance.</summary>
        public void Stop()
        {
            if (State == AudioState.Playing || State == AudioState.Starved) _output.Stop();
            State = AudioState.Idle;
        }

        /// <summary>Call once per rendered frame: reads the play position, writes what arrived,
        /// starts, stalls, resumes or finishes the source. Returns the state.</summary>
        public AudioState Pump()
        {
            switch (State)
            {
                case AudioState.Buffering:
                    if (_rate == 0)
                    {
                        if (_ended) State = AudioState.Finished; // a stream without audio
                        break;
                    }
                    if (_pendingCount >= PrebufferSeconds * _rate || _ended)
                    {
                        Fill();
                        if (_writeEnd == 0) { State = AudioState.Finished; break; }
                        _output.Play();
                        State = AudioState.Playing;
                    }
                    break;
                case AudioState.Playing:
                    ReadPosition();
                    Fill();
                    if (_played >= _writeEnd && _ended && _pendingCount == 0)
                    {
                        _output.Stop();
                        State = AudioState.Finished;
                    }
                    else if (_played + _guard >= _writeEnd && !_ended && _pendingCount == 0)
                    {
                        _output.Pause();
                        State = AudioState.Starved;
                        Stalls++;
                    }
                    break;
                case AudioState.Starved:
                    ReadPosition();
                    if (_pendingCount >= PrebufferSeconds * _rate || _ended)
                    {
                        // Continue after the region the source may already have fetched; the
                        // silence in between is a gap in the sound, not in the utterance.
                        long resume = Math.Max(_writeEnd, _played + _guard);
                        _gapStart = _writeEnd;
                        _offsetBeforeGap = _offset;
                        _offset += resume - _writeEnd;
                        _writeEnd = resume;
                        _gapEnd = resume;
                        Fill();
                        _output.UnPause();
                        State = AudioState.Playing;
                    }
                    break;
            }
            return State;
        }

        void Open(int sampleRate)
        {
            _rate = sampleRate;
            int blocks = Math.Max(4, (int)Math.Ceiling(RingSeconds * sampleRate / WriteBlockSamples));
            _length = blocks * WriteBlockSamples;
            _guard = Math.Max(1, (int)Math.Ceiling(GuardSeconds * sampleRate));
            if (_ring == null || _ring.Length != _length) _ring = new float[_length];
            else Array.Clear(_ring, 0, _length);
            _output.OpenStream(sampleRate, _length);
        }

        void ReadPosition()
        {
            int pos = _output.Position;
            // The clip loops, so the position wraps; unroll it (a hitch longer than the ring loses laps).
            int delta = pos - _lastPosition;
            if (delta < 0) delta += _length;
            _played += delta;
            _lastPosition = pos;
        }

        void Fill()
        {
            long limit = _played + _length - _guard; // beyond it, the slot still holds what plays now
            int n = (int)Math.Min(_pendingCount, Math.Max(0, limit - _writeEnd));
            for (int i = 0; i < n; i++) _ring[Slot(_writeEnd + i)] = Dequeue();
            if (n > 0) MarkDirty(_writeEnd, _writeEnd + n);
            _writeEnd += n;
            if (_padEnd < _writeEnd) _padEnd = _writeEnd;
            if (_padEnd < limit)
            {
                for (long a = _padEnd; a < limit; a++) _ring[Slot(a)] = 0f;
                MarkDirty(_padEnd, limit);
                _padEnd = limit;
            }
            Flush();
        }

        void MarkDirty(long from, long to)
        {
            _dirtyFrom = Math.Min(_dirtyFrom, from);
            _dirtyTo = Math.Max(_dirtyTo, to);
        }

        void Flush()
        {
            if (_dirtyTo <= _dirtyFrom) return;
            long first = _dirtyFrom / WriteBlockSamples, last = (_dirtyTo - 1) / WriteBlockSamples;
            int blocks = _length / WriteBlockSamples;
            last = Math.Min(last, first + blocks - 1); // a whole lap at most
            for (long b = first; b <= last; b++)
                _output.Write((int)(b % blocks) * WriteBlockSamples, _ring, WriteBlockSamples);
            _dirtyFrom = long.MaxValue;
            _dirtyTo = long.MinValue;
        }

        int Slot(long absolute)
        {
            return (int)(absolute % _length);
        }

        void Reserve(int count)
        {
            if (_pending.Length >= count) return;
            var grown = new float[Math.Max(count, 2 * _pending.Length)];
            for (int i = 0; i < _pendingCount; i++) grown[i] = _pending[(_pendingHead + i) % _pending.Length];
            _pending = grown;
            _pendingHead = 0;
        }

        void Enqueue(float v)
        {
            _pending[(_pendingHead + _pendingCount) % _pending.Length] = v;
            _pendingCount++;
        }

        float Dequeue()
        {
            float v = _pending[_pendingHead];
            _pendingHead = (_pendingHead + 1) % _pending.Length;
            _pendingCount--;
            return v;
        }
    }
}
