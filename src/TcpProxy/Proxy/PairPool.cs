using System;

namespace TcpProxy.Proxy;

/// <summary>
/// Closed pairs wait here to serve the next client: taking and returning
/// one is a pop and a push, so connections leave no garbage behind. The pool
/// keeps as many as were ever open at once (each ~0.6 KB, no buffers).
/// </summary>
internal sealed class PairPool
{
    private readonly LoopParts _loop;
    private ProxyPair[] _free = new ProxyPair[64];
    private int _count;

    public PairPool(LoopParts loop)
    {
        _loop = loop;
    }

    /// <summary>Pairs waiting to be reused.</summary>
    public int FreeCount => _count;

    public ProxyPair Rent()
    {
        if (_count == 0)
            return new ProxyPair(this, _loop);
        ProxyPair pair = _free[--_count];
        _free[_count] = null!;
        return pair;
    }

    public void Return(ProxyPair pair)
    {
        if (_count == _free.Length)
            Array.Resize(ref _free, _free.Length * 2);
        _free[_count++] = pair;
    }
}
