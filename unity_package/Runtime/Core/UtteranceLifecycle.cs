// Which utterance is current, and exactly one "finished" per Speak, even when listeners re-enter.
using System;
using System.Collections.Generic;

namespace Text2Lips.Core
{
    /// <summary>
    /// Tracks the utterances of one avatar: each <see cref="Begin"/> ends the current one and
    /// starts a new one, and every utterance raises <see cref="Finished"/> exactly once. The state
    /// is updated before any event is raised, and events raised while another is being delivered
    /// are queued behind it, so a listener may call <see cref="Begin"/> (Speak the next line)
    /// from inside <see cref="Finished"/>: the caller that was interrupted sees with
    /// <see cref="IsCurrent"/> that its utterance was replaced and starts nothing. Each utterance
    /// may carry a clean-up (cancel its stream) that runs when it ends, so nothing leaks.
    /// </summary>
    public sealed class UtteranceLifecycle
    {
        readonly Queue<int> _pending = new Queue<int>();
        readonly Dictionary<int, Action> _cleanup = new Dictionary<int, Action>();
        int _current;
        bool _active;
        bool _raising;

        /// <summary>Raised once per utterance when it ends (played out, stopped, replaced or failed), with its id.</summary>
        public event Action<int> Finished;

        /// <summary>The newest utterance's id (0 before the first).</summary>
        public int Current { get { return _current; } }

        /// <summary>True while the current utterance has not finished.</summary>
        public bool IsActive { get { return _active; } }

        /// <summary>Ends the current utterance (raising its <see cref="Finished"/>) and starts a
        /// new one. Returns the new id; check <see cref="IsCurrent"/> before using it, because a
        /// listener may already have replaced it.</summary>
        public int Begin()
        {
            int previous = _active ? _current : 0;
            _current++;
            _active = true;
            int id = _current;
            if (previous != 0) End(previous);
            Raise();
            return id;
        }

        /// <summary>True if <paramref name="id"/> is the current, unfinished utterance.</summary>
        public bool IsCurrent(int id)
        {
            return id == _current && _active;
        }

        /// <summary>Gives utterance <paramref name="id"/> a clean-up (cancel its stream), run when
        /// it ends; at once if it has ended already.</summary>
        public void Attach(int id, Action cleanup)
        {
            if (cleanup == null) return;
            if (IsCurrent(id)) _cleanup[id] = cleanup;
            else cleanup();
        }

        /// <summary>Ends utterance <paramref name="id"/> if it is current; false if it was not (a stale report).</summary>
        public bool Finish(int id)
        {
            if (!IsCurrent(id)) return false;
            _active = false;
            End(id);
            Raise();
            return true;
        }

        /// <summary>Ends the current utterance, if any.</summary>
        public void Stop()
        {
            if (_active) Finish(_current);
        }

        void End(int id)
        {
            Action cleanup;
            if (_cleanup.TryGetValue(id, out cleanup))
            {
                _cleanup.Remove(id);
                cleanup();
            }
            _pending.Enqueue(id);
        }

        void Raise()
        {
            if (_raising) return; // the outer call delivers it after the current listener returns
            _raising = true;
            try
            {
                while (_pending.Count > 0)
                {
                    int id = _pending.Dequeue();
                    if (Finished != null) Finished(id);
                }
            }
            finally
            {
                _raising = false;
            }
        }
    }
}
