using System.Collections.Generic;
using System.Linq;

namespace TcpProxy.Tests.Model;

/// <summary>
/// The proxy's contract as a judgement over what a script run showed. For each direction X→Y of
/// each pair:
///   - Y receives a prefix of what X sent: every byte once, in order, none invented;
///   - Y sees EOF only after X half-closed or reset, and, unless X reset, only after all X sent;
///   - Y sees a reset (the proxy's abort) only after a reset by either side, or after a reader
///     stopped for longer than the stall timeout, and never sooner than the timeout after that
///     stop began;
///   - with no reset and no long stall, both ends see EOF after every byte (a clean close);
///   - a stall is not survived: a send that waited well over the stall timeout (the proxy's ring
///     and both kernels' buffers full, nothing written) and then went on means the proxy kept a
///     pair whose buffered data was unwritable past the timeout;
///   - every pair ends (nothing hangs), and once both ends of every pair have ended, the proxy
///     has closed all their descriptors by itself.
/// </summary>
public static class ProxyModel
{
    const double Tolerance = 0.05; // clock reads on two sides of a process boundary, 10 ms wheel ticks
    // Beyond the timeout, before a blocked sender proves the proxy kept an unwritable pair:
    // window updates lag the proxy's writes, and the proxy runs beside other tests.
    const double BlockedSlack = 0.75;

    public static IReadOnlyList<string> Violations(ScriptOutcome outcome)
    {
        var found = new List<string>();
        if (!outcome.ProxyAlive)
            found.Add("the proxy exited");
        for (int i = 0; i < outcome.Pairs.Length; i++)
        {
            var pair = outcome.Pairs[i];
            foreach (var from in new[] { pair.Client, pair.Server })
                CheckDirection(i, pair, from, pair.Other(from), found);
        }
        if (outcome.FdsAfterPairsEnded > outcome.BaselineFds)
            found.Add($"every pair had ended at both ends, but the proxy still held {outcome.FdsAfterPairsEnded} descriptors " +
                      $"5 s later ({outcome.BaselineFds} before the script)");
        return found;
    }

    static void CheckDirection(int index, PairLog pair, PeerLog from, PeerLog to, List<string> found)
    {
        string where = $"pair {index}, {from.Side}→{to.Side}";
        if (to.End == ReadEnd.ClosedLocally)
            return; // the receiver reset itself: nothing more it could see
        var (end, endedAt) = Effective(to);
        if (end == ReadEnd.TimedOut || from.SendStuck)
            found.Add($"{where}: the pair did not end (reader {end}, sender {(from.SendStuck ? "stuck" : "not stuck")})");
        if (end == ReadEnd.WrongByte)
            found.Add($"{where}: wrong byte at offset {to.WrongByteAt} (not the next byte {from.Side} sent)");
        if (to.Received > from.Sent)
            found.Add($"{where}: received {to.Received} B but only {from.Sent} B were sent");

        double? resetAt = new[] { pair.Client.ResetAt, pair.Server.ResetAt }.Where(t => t is not null).Min();
        var longStalls = pair.Client.Stalls.Concat(pair.Server.Stalls)
            .Where(s => s.Milliseconds >= ScriptGen.LongStallMinMs).ToList();

        if (from.EofNotPassedOn)
            found.Add($"{where}: {from.Side} half-closed at {from.HalfClosedAt:0.000} s and {to.Side}'s reading had not ended " +
                      "long after: the EOF was not passed on");
        if (end == ReadEnd.Eof)
        {
            if (from.HalfClosedAt is null && from.ResetAt is null)
                found.Add($"{where}: EOF reached {to.Side} though {from.Side} neither half-closed nor reset");
            else if (from.ResetAt is null && to.Received != from.Sent)
                found.Add($"{where}: EOF after {to.Received} B of the {from.Sent} B sent");
        }
        if (end == ReadEnd.Reset || from.WriteError is not null)
        {
            double at = end == ReadEnd.Reset ? endedAt : from.WriteErrorAt ?? endedAt;
            bool afterReset = resetAt is { } r && at >= r - Tolerance;
            bool afterStall = longStalls.Any(s => at >= s.Start + ScriptGen.StallTimeoutSeconds - Tolerance);
            if (!afterReset && !afterStall)
                found.Add($"{where}: the pair was aborted at {at:0.000} s with no reset before it and no reader stopped for " +
                          $"the stall timeout ({ScriptGen.StallTimeoutSeconds} s) before it" +
                          (longStalls.Count > 0 ? $" (long stalls began at {string.Join(", ", longStalls.Select(s => s.Start.ToString("0.000")))} s)" : ""));
        }
        if (from.LongestBlocked >= ScriptGen.StallTimeoutSeconds + BlockedSlack)
            found.Add($"{where}: a send by {from.Side} waited {from.LongestBlocked:0.000} s (until {from.LongestBlockedEndedAt:0.000} s) " +
                      $"and then went on: the pair outlived data unwritable for longer than the stall timeout");
        if (resetAt is null && longStalls.Count == 0 && end is not ReadEnd.Eof and not ReadEnd.TimedOut and not ReadEnd.WrongByte)
            found.Add($"{where}: no reset and no long stall, yet {to.Side}'s reading ended with {end} instead of EOF");
    }

    // A reset is reported once: if this side's send took it, its next read returns 0 as if EOF.
    // Only a send error before that "EOF" (give or take the two threads' clock reads) is one.
    static (ReadEnd End, double At) Effective(PeerLog peer)
    {
        bool resetSeenBySend = peer.WriteError is "ConnectionReset" or "ConnectionAborted" or "Shutdown";
        if (peer.End == ReadEnd.Eof && resetSeenBySend && peer.WriteErrorAt is { } at && at <= peer.EndedAt + Tolerance)
            return (ReadEnd.Reset, System.Math.Min(at, peer.EndedAt));
        return (peer.End, peer.EndedAt);
    }
}
