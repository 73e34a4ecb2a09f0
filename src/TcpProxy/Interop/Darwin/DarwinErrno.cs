namespace TcpProxy.Interop.Darwin;

/// <summary>
/// Darwin errno → the proxy's numbering (<see cref="Errno"/>, Linux's). Every
/// Darwin result passes through <see cref="ToProxy"/> before it leaves this
/// folder: EAGAIN is 35 on macOS and 11 on Linux, EINPROGRESS 36 and 115,
/// ECONNRESET 54 and 104, so comparing a raw Darwin errno with a Linux number
/// would misread every error. Values from xnu bsd/sys/errno.h.
/// </summary>
internal static class DarwinErrno
{
    /// <summary>(Darwin value from &lt;sys/errno.h&gt;, the proxy's constant) for every errno the proxy names.</summary>
    internal static readonly (int Darwin, int Proxy)[] Pairs =
    [
        (1, Errno.EPERM),
        (2, Errno.ENOENT),
        (4, Errno.EINTR),
        (5, Errno.EIO),
        (6, Errno.ENXIO),
        (9, Errno.EBADF),
        (12, Errno.ENOMEM),
        (13, Errno.EACCES),
        (22, Errno.EINVAL),
        (23, Errno.ENFILE),
        (24, Errno.EMFILE),
        (27, Errno.EFBIG),
        (28, Errno.ENOSPC),
        (32, Errno.EPIPE),
        (35, Errno.EAGAIN),
        (36, Errno.EINPROGRESS),
        (42, Errno.ENOPROTOOPT),
        (45, Errno.EOPNOTSUPP), // ENOTSUP: one number on Linux
        (47, Errno.EAFNOSUPPORT),
        (48, Errno.EADDRINUSE),
        (49, Errno.EADDRNOTAVAIL),
        (50, Errno.ENETDOWN),
        (51, Errno.ENETUNREACH),
        (53, Errno.ECONNABORTED),
        (54, Errno.ECONNRESET),
        (55, Errno.ENOBUFS),
        (57, Errno.ENOTCONN),
        (60, Errno.ETIMEDOUT),
        (61, Errno.ECONNREFUSED),
        (64, Errno.EHOSTDOWN),
        (65, Errno.EHOSTUNREACH),
        (69, Errno.EDQUOT),
        (78, Errno.ENOSYS),
        (100, Errno.EPROTO),
        (102, Errno.EOPNOTSUPP),
    ];

    // Indexed by Darwin errno up to ELAST (106); 0 means "no Linux counterpart named".
    private static readonly int[] Table = Build();

    private static int[] Build()
    {
        var table = new int[107];
        foreach ((int darwin, int proxy) in Pairs)
            table[darwin] = proxy;
        return table;
    }

    /// <summary>The proxy's errno for a Darwin errno; <see cref="Errno.DarwinOnlyBase"/> + n for one it does not name.</summary>
    public static int ToProxy(int darwin) =>
        (uint)darwin < (uint)Table.Length && Table[darwin] != 0 ? Table[darwin] : Errno.DarwinOnlyBase + darwin;
}
