using System;
using BenchmarkDotNet.Attributes;
using TcpProxy.Reactor;

namespace TcpProxy.Benchmarks;

/// <summary>
/// The timer wheel with 10^5 timers armed (about 10^5 connection pairs'
/// stall timers), deadlines spread over the 10 s stall timeout.
/// Every timer and callback is made in the setup; operations reuse them.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class TimerWheelBenchmarks
{
    private const int ArmedTimers = 100_000;
    private const int StallTimeoutMs = 10_000;
    private const int Batch = 1024;

    private TimerWheel _wheel = null!;
    private LoopTimer[] _armed = null!;
    private LoopTimer[] _spare = null!;
    private long _nowMs;
    private long _pushBackMs;
    private int _fired;

    [GlobalSetup]
    public void Setup()
    {
        _nowMs = 0;
        _wheel = new TimerWheel(_nowMs);
        _armed = new LoopTimer[ArmedTimers];
        var random = new Random(42);
        for (int i = 0; i < ArmedTimers; i++)
        {
            LoopTimer timer = null!;
            // A fired stall timer is re-armed a full timeout later, so the
            // wheel keeps 10^5 armed however long Advance runs.
            timer = new LoopTimer(() => { _fired++; _wheel.Arm(timer, _nowMs + StallTimeoutMs); });
            _armed[i] = timer;
            _wheel.Arm(timer, _nowMs + 1 + random.Next(StallTimeoutMs));
        }
        _spare = new LoopTimer[Batch];
        for (int i = 0; i < Batch; i++)
            _spare[i] = new LoopTimer(static () => { });
        _pushBackMs = StallTimeoutMs;
    }

    /// <summary>Arm a fresh timer 10 s out, then cancel it: one operation = one Arm plus one Cancel.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int ArmThenCancel()
    {
        long deadline = _nowMs + StallTimeoutMs;
        for (int i = 0; i < Batch; i++)
            _wheel.Arm(_spare[i], deadline + i);
        for (int i = 0; i < Batch; i++)
            _wheel.Cancel(_spare[i]);
        return _wheel.ArmedCount;
    }

    /// <summary>
    /// The stall timer's per-write path: push an armed timer's deadline later.
    /// Walks 1024 different armed timers so cache misses count as they would.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int RearmLater()
    {
        long deadline = _nowMs + ++_pushBackMs;
        for (int i = 0; i < Batch; i++)
            _wheel.Arm(_armed[i * 97], deadline);
        return _wheel.ArmedCount;
    }

    /// <summary>
    /// One 10 ms tick of the loop: the slot's ~100 due timers fire (each
    /// callback re-arms its timer) and pushed-back ones are re-filed.
    /// </summary>
    [Benchmark]
    public int AdvanceOneTick()
    {
        _nowMs += _wheel.TickMs;
        _wheel.Advance(_nowMs);
        return _fired;
    }
}
