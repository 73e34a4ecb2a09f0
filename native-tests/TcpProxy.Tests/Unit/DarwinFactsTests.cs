using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TcpProxy.Interop;
using TcpProxy.Interop.Darwin;
using TcpProxy.Tests.Support;

namespace TcpProxy.Tests.Unit;

/// <summary>
/// What the Darwin layer assumes about macOS, checked against values written
/// down from the macOS SDK headers (xnu's bsd/ tree as installed under the
/// SDK's usr/include; &lt;netdb.h&gt; comes from Libinfo). No Mac runs these:
/// they pin every number and offset the layer passes to the kernel, so a
/// typo cannot hide until someone runs the proxy on a Mac. 64-bit macOS
/// (arm64 and x86-64 share these layouts).
/// </summary>
public sealed class DarwinFactsTests
{
    private const string Socket = "sys/socket.h";
    private const string In = "netinet/in.h";
    private const string In6 = "netinet6/in6.h";
    private const string Tcp = "netinet/tcp.h";
    private const string Fcntl = "sys/fcntl.h";
    private const string Syslimits = "sys/syslimits.h";
    private const string Stat = "sys/stat.h";
    private const string Resource = "sys/resource.h";
    private const string Netdb = "netdb.h (Libinfo)";
    private const string Event = "sys/event.h";
    private const string ErrnoHeader = "sys/errno.h";
    private const string Poll = "sys/poll.h";
    private const string Signal = "sys/signal.h";

    /// <summary>Every constant of <see cref="DarwinConstants"/>, as its header defines it.</summary>
    private static readonly (string Name, long Value, string Header)[] Constants =
    [
        ("SOCK_STREAM", 1, Socket),
        ("AF_INET", 2, Socket),
        ("AF_INET6", 30, Socket),
        ("SOL_SOCKET", 0xffff, Socket),
        ("SO_REUSEADDR", 0x0004, Socket),
        ("SO_LINGER", 0x0080, Socket),
        ("SO_OOBINLINE", 0x0100, Socket),
        ("SO_REUSEPORT", 0x0200, Socket),
        ("SO_ERROR", 0x1007, Socket),
        ("SO_NOSIGPIPE", 0x1022, Socket),
        ("MSG_DONTWAIT", 0x80, Socket),
        ("SHUT_WR", 1, Socket),
        ("IPPROTO_TCP", 6, In),
        ("IPPROTO_IPV6", 41, In),
        ("IPV6_V6ONLY", 27, In6),
        ("TCP_NODELAY", 0x01, Tcp),
        ("O_WRONLY", 0x0001, Fcntl),
        ("O_NONBLOCK", 0x0004, Fcntl),
        ("O_APPEND", 0x0008, Fcntl),
        ("O_CREAT", 0x0200, Fcntl),
        ("O_NOCTTY", 0x20000, Fcntl),
        ("O_CLOEXEC", 0x01000000, Fcntl),
        ("F_SETFD", 2, Fcntl),
        ("F_GETFL", 3, Fcntl),
        ("F_SETFL", 4, Fcntl),
        ("F_GETPATH", 50, Fcntl),
        ("FD_CLOEXEC", 1, Fcntl),
        ("MAXPATHLEN", 1024, Syslimits + " (PATH_MAX; sys/param.h: MAXPATHLEN = PATH_MAX)"),
        ("OPEN_MAX", 10240, Syslimits),
        ("S_IFMT", 0xF000, Stat + " (0170000)"),
        ("S_IFIFO", 0x1000, Stat + " (0010000)"),
        ("S_IFCHR", 0x2000, Stat + " (0020000)"),
        ("S_IFSOCK", 0xC000, Stat + " (0140000)"),
        ("RLIMIT_NOFILE", 8, Resource),
        ("RLIM_INFINITY", long.MaxValue, Resource + " (((__uint64_t)1 << 63) - 1)"),
        ("AI_PASSIVE", 0x00000001, Netdb),
        ("AI_NUMERICSERV", 0x00001000, Netdb),
        ("SIGUSR1", 30, Signal),
        ("SIGUSR2", 31, Signal),
        ("EVFILT_READ", -1, Event),
        ("EVFILT_WRITE", -2, Event),
        ("EV_ADD", 0x0001, Event),
        ("EV_DELETE", 0x0002, Event),
        ("EV_CLEAR", 0x0020, Event),
        ("EV_RECEIPT", 0x0040, Event),
        ("EV_OOBAND", 0x2000, Event + " (EV_FLAG1)"),
        ("EV_ERROR", 0x4000, Event),
        ("EV_EOF", 0x8000, Event),
    ];

    /// <summary>&lt;sys/errno.h&gt; (xnu bsd/sys/errno.h): the Darwin number of every errno the proxy names.</summary>
    private static readonly (string Name, int Darwin)[] DarwinErrnos =
    [
        ("EPERM", 1), ("ENOENT", 2), ("EINTR", 4), ("EIO", 5), ("ENXIO", 6), ("EBADF", 9),
        ("ENOMEM", 12), ("EACCES", 13), ("EINVAL", 22), ("ENFILE", 23), ("EMFILE", 24),
        ("EFBIG", 27), ("ENOSPC", 28), ("EPIPE", 32), ("EAGAIN", 35), ("EINPROGRESS", 36),
        ("ENOPROTOOPT", 42), ("EAFNOSUPPORT", 47), ("EADDRINUSE", 48), ("EADDRNOTAVAIL", 49),
        ("ENETDOWN", 50), ("ENETUNREACH", 51), ("ECONNABORTED", 53), ("ECONNRESET", 54),
        ("ENOBUFS", 55), ("ENOTCONN", 57), ("ETIMEDOUT", 60), ("ECONNREFUSED", 61),
        ("EHOSTDOWN", 64), ("EHOSTUNREACH", 65), ("EDQUOT", 69), ("ENOSYS", 78),
        ("EPROTO", 100), ("EOPNOTSUPP", 102),
    ];

    /// <summary>Errno names with no Darwin counterpart: Linux alone can return them.</summary>
    private static readonly string[] LinuxOnlyErrnos = ["ENONET"];

    [Fact]
    public void EveryDarwinConstant_MatchesItsHeader()
    {
        FieldInfo[] fields = typeof(DarwinConstants).GetFields(BindingFlags.Public | BindingFlags.Static | BindingFlags.NonPublic);
        var expected = Constants.ToDictionary(c => c.Name);
        var problems = new List<string>();
        foreach (FieldInfo field in fields)
        {
            if (!expected.TryGetValue(field.Name, out var fact))
            {
                problems.Add($"{field.Name}: no value from a header in this test; add it with the header it comes from");
                continue;
            }
            long actual = Convert.ToInt64(field.GetRawConstantValue() is ulong u ? (long)u : field.GetRawConstantValue());
            if (actual != fact.Value)
                problems.Add($"{field.Name} is {actual}, <{fact.Header}> says {fact.Value}");
        }
        foreach (var fact in Constants)
        {
            if (fields.All(f => f.Name != fact.Name))
                problems.Add($"{fact.Name}: in this test, but the Darwin layer no longer uses it");
        }
        Assert.Empty(problems);
    }

    [LinuxFact("compares with Linux values from Tmds.LibC")]
    public void ErrnoTable_MapsEachDarwinNumberFromTheHeader_ToTheLinuxNumberOfTheSameName()
    {
        var problems = new List<string>();
        var proxyNames = typeof(Errno).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.Name != nameof(Errno.DarwinOnlyBase))
            .ToDictionary(f => f.Name, f => (int)f.GetRawConstantValue()!);
        foreach ((string name, int darwin) in DarwinErrnos)
        {
            int linux = LinuxErrno(name);
            if (DarwinErrno.ToProxy(darwin) != linux)
                problems.Add($"{name}: <{ErrnoHeader}> {darwin} translates to {DarwinErrno.ToProxy(darwin)}, Linux's {name} is {linux}");
            if (!proxyNames.TryGetValue(name, out int proxy) || proxy != linux)
                problems.Add($"{name}: Errno.{name} is not Linux's {linux}");
        }
        // Every errno the code above compares against must be translatable from Darwin.
        foreach (string name in proxyNames.Keys)
        {
            if (!LinuxOnlyErrnos.Contains(name) && DarwinErrnos.All(e => e.Name != name))
                problems.Add($"Errno.{name} has no Darwin value in the table (add it from <{ErrnoHeader}>, or list it as Linux-only)");
        }
        Assert.Empty(problems);
    }

    [Fact]
    public void ErrnoTable_NeverLetsADarwinNumberPassForAnotherLinuxErrno()
    {
        // EAGAIN is 35 on macOS; Linux's 35 is EDEADLK. Unnamed Darwin errnos are set apart.
        Assert.Equal(Errno.EAGAIN, DarwinErrno.ToProxy(35));
        Assert.Equal(Errno.EINPROGRESS, DarwinErrno.ToProxy(36));
        Assert.Equal(Errno.ECONNRESET, DarwinErrno.ToProxy(54));
        Assert.Equal(Errno.DarwinOnlyBase + 11, DarwinErrno.ToProxy(11)); // EDEADLK on macOS
        Assert.Equal("darwin errno 11", Errno.Name(DarwinErrno.ToProxy(11)));
        Assert.Equal(Errno.DarwinOnlyBase + 300, DarwinErrno.ToProxy(300));
        // Both Darwin spellings of "not supported" (ENOTSUP 45, EOPNOTSUPP 102) are Linux's one.
        Assert.Equal(Errno.EOPNOTSUPP, DarwinErrno.ToProxy(45));
    }

    [Fact]
    public void KEvent_Is32Bytes_WithTheFieldsWhereSysEventHPutsThem()
    {
        // struct kevent { uintptr_t ident; int16_t filter; uint16_t flags; uint32_t fflags; intptr_t data; void *udata; }
        Assert.Equal(32, Unsafe.SizeOf<KEvent>());
        AssertOffset<KEvent>(nameof(KEvent.Ident), 0);
        AssertOffset<KEvent>(nameof(KEvent.Filter), 8);
        AssertOffset<KEvent>(nameof(KEvent.Flags), 10);
        AssertOffset<KEvent>(nameof(KEvent.FilterFlags), 12);
        AssertOffset<KEvent>(nameof(KEvent.Data), 16);
        AssertOffset<KEvent>(nameof(KEvent.UserData), 24);
        Assert.True(IsBlittable<KEvent>());
    }

    [Fact]
    public void TimeSpec_IsTwoLongs()
    {
        // sys/_types/_timespec.h: { __darwin_time_t tv_sec; long tv_nsec; }
        Assert.Equal(16, Unsafe.SizeOf<TimeSpec>());
        AssertOffset<TimeSpec>(nameof(TimeSpec.Seconds), 0);
        AssertOffset<TimeSpec>(nameof(TimeSpec.Nanoseconds), 8);
    }

    [Fact]
    public void Linger_IsTwoInts()
    {
        // sys/socket.h: struct linger { int l_onoff; int l_linger; }
        Assert.Equal(8, Unsafe.SizeOf<DarwinLinger>());
        AssertOffset<DarwinLinger>(nameof(DarwinLinger.OnOff), 0);
        AssertOffset<DarwinLinger>(nameof(DarwinLinger.Seconds), 4);
    }

    [Fact]
    public void MsgHdr_HasAnIntIovlenAndASocklenControllen()
    {
        // sys/socket.h: { void *msg_name; socklen_t msg_namelen; struct iovec *msg_iov; int msg_iovlen;
        //                 void *msg_control; socklen_t msg_controllen; int msg_flags; }
        Assert.Equal(48, Unsafe.SizeOf<DarwinMsgHdr>());
        AssertOffset<DarwinMsgHdr>(nameof(DarwinMsgHdr.Name), 0);
        AssertOffset<DarwinMsgHdr>(nameof(DarwinMsgHdr.NameLength), 8);
        AssertOffset<DarwinMsgHdr>(nameof(DarwinMsgHdr.Vectors), 16);
        AssertOffset<DarwinMsgHdr>(nameof(DarwinMsgHdr.VectorCount), 24);
        AssertOffset<DarwinMsgHdr>(nameof(DarwinMsgHdr.Control), 32);
        AssertOffset<DarwinMsgHdr>(nameof(DarwinMsgHdr.ControlLength), 40);
        AssertOffset<DarwinMsgHdr>(nameof(DarwinMsgHdr.Flags), 44);
        // sys/_types/_iovec_t.h: { void *iov_base; size_t iov_len; }
        Assert.Equal(16, Unsafe.SizeOf<DarwinIoVec>());
        AssertOffset<DarwinIoVec>(nameof(DarwinIoVec.Length), 8);
    }

    [Fact]
    public void AddrInfo_HasCanonnameBeforeAddr()
    {
        // netdb.h (Libinfo): { int ai_flags, ai_family, ai_socktype, ai_protocol; socklen_t ai_addrlen;
        //                      char *ai_canonname; struct sockaddr *ai_addr; struct addrinfo *ai_next; }
        Assert.Equal(48, Unsafe.SizeOf<DarwinAddrInfo>());
        AssertOffset<DarwinAddrInfo>(nameof(DarwinAddrInfo.Family), 4);
        AssertOffset<DarwinAddrInfo>(nameof(DarwinAddrInfo.SocketType), 8);
        AssertOffset<DarwinAddrInfo>(nameof(DarwinAddrInfo.AddressLength), 16);
        AssertOffset<DarwinAddrInfo>(nameof(DarwinAddrInfo.CanonicalName), 24);
        AssertOffset<DarwinAddrInfo>(nameof(DarwinAddrInfo.Address), 32);
        AssertOffset<DarwinAddrInfo>(nameof(DarwinAddrInfo.Next), 40);
    }

    [Fact]
    public void RLimit_IsTwoRlimT()
    {
        // sys/resource.h: struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; }, rlim_t = __uint64_t
        Assert.Equal(16, Unsafe.SizeOf<DarwinRLimit>());
        AssertOffset<DarwinRLimit>(nameof(DarwinRLimit.Maximum), 8);
    }

    [Fact]
    public void Stat_HasItsModeAfterAFourByteDevice_In144Bytes()
    {
        // sys/stat.h __DARWIN_STRUCT_STAT64: dev_t st_dev (int32); mode_t st_mode (uint16); nlink_t; ino64 st_ino;
        // uid, gid, rdev; four timespecs; off_t size; blkcnt_t; blksize_t; flags, gen, lspare; int64 qspare[2]
        Assert.Equal(144, Unsafe.SizeOf<DarwinStat>());
        AssertOffset<DarwinStat>(nameof(DarwinStat.Mode), 4);
        AssertOffset<DarwinStat>(nameof(DarwinStat.Inode), 8); // after the two-byte st_nlink
    }

    [Fact]
    public void SockaddrIn_AndIn6_StartWithALengthByteAndAOneByteFamily()
    {
        // netinet/in.h: struct sockaddr_in { __uint8_t sin_len; sa_family_t sin_family; in_port_t sin_port;
        //                                    struct in_addr sin_addr; char sin_zero[8]; }  (sa_family_t = __uint8_t)
        Assert.Equal(0, DarwinSockaddr.LengthOffset);
        Assert.Equal(1, DarwinSockaddr.FamilyOffset);
        Assert.Equal(2, DarwinSockaddr.PortOffset);
        Assert.Equal(4, DarwinSockaddr.In4AddressOffset);
        Assert.Equal(16, DarwinSockaddr.In4Size);
        // netinet6/in6.h: struct sockaddr_in6 { __uint8_t sin6_len; sa_family_t sin6_family; in_port_t sin6_port;
        //                                       __uint32_t sin6_flowinfo; struct in6_addr sin6_addr; __uint32_t sin6_scope_id; }
        Assert.Equal(4, DarwinSockaddr.In6FlowInfoOffset);
        Assert.Equal(8, DarwinSockaddr.In6AddressOffset);
        Assert.Equal(24, DarwinSockaddr.In6ScopeIdOffset);
        Assert.Equal(28, DarwinSockaddr.In6Size);
        // SocketAddress reads port and addresses at these offsets on both systems.
        Assert.Equal(SocketAddress.DarwinAF_INET6, (int)Constant("AF_INET6"));
    }

    [Fact]
    public void DarwinFamilies_ReadInTheProxysNumbering()
    {
        Assert.Equal(SocketAddress.AF_INET, SocketAddress.FamilyFromDarwin(2));
        Assert.Equal(SocketAddress.AF_INET6, SocketAddress.FamilyFromDarwin(30));
        // Darwin's 10 is AF_CCITT: it must not pass for IPv6.
        Assert.NotEqual(SocketAddress.AF_INET6, SocketAddress.FamilyFromDarwin(10));
        Assert.Equal(30, SocketAddress.FamilyToDarwin(SocketAddress.AF_INET6));
        Assert.Equal(2, SocketAddress.FamilyToDarwin(SocketAddress.AF_INET));
    }

    [LinuxFact("compares with Linux values from Tmds.LibC")]
    public void PollFd_AndItsBits_AreThePosixOnes()
    {
        // sys/poll.h: struct pollfd { int fd; short events; short revents; }
        Assert.Equal(8, Unsafe.SizeOf<PollFd>());
        AssertOffset<PollFd>(nameof(PollFd.Events), 4);
        AssertOffset<PollFd>(nameof(PollFd.ReturnedEvents), 6);
        // POLLIN 0x0001, POLLPRI 0x0002, POLLOUT 0x0004, POLLERR 0x0008, POLLHUP 0x0010, POLLNVAL 0x0020 —
        // the same on Linux (asm-generic/poll.h), which Tmds.LibC confirms.
        Assert.Equal(new short[] { 0x1, 0x2, 0x4, 0x8, 0x10, 0x20 },
            new[] { Sys.PollIn, Sys.PollPri, Sys.PollOut, Sys.PollErr, Sys.PollHup, Sys.PollNval });
        Assert.Equal(new[] { (int)Tmds.Linux.LibC.POLLIN, Tmds.Linux.LibC.POLLPRI, Tmds.Linux.LibC.POLLOUT, Tmds.Linux.LibC.POLLERR, Tmds.Linux.LibC.POLLHUP, Tmds.Linux.LibC.POLLNVAL },
            new int[] { Sys.PollIn, Sys.PollPri, Sys.PollOut, Sys.PollErr, Sys.PollHup, Sys.PollNval });
        _ = Poll;
    }

    [Fact]
    public void KqueueNames_AreTheDarwinValues()
    {
        (string Name, long Value)[] names =
        [
            ("EVFILT_READ", Sys.KqueueFilterRead), ("EVFILT_WRITE", Sys.KqueueFilterWrite),
            ("EV_ADD", Sys.KqueueAdd), ("EV_DELETE", Sys.KqueueDelete), ("EV_CLEAR", Sys.KqueueClear),
            ("EV_RECEIPT", Sys.KqueueReceipt), ("EV_OOBAND", Sys.KqueueOutOfBand),
            ("EV_ERROR", Sys.KqueueError), ("EV_EOF", Sys.KqueueEndOfFile),
        ];
        foreach ((string name, long value) in names)
            Assert.True(Constant(name) == value, $"Sys's {name} is {value}, <{Event}> says {Constant(name)}");
    }

    private static long Constant(string name) => Constants.Single(c => c.Name == name).Value;

    private static int LinuxErrno(string name) =>
        (int)(typeof(Tmds.Linux.LibC).GetProperty(name, BindingFlags.Public | BindingFlags.Static)?.GetValue(null)
              ?? throw new InvalidOperationException("Tmds.LibC has no " + name));

    private static void AssertOffset<T>(string field, int offset) where T : struct =>
        Assert.Equal(offset, (int)Marshal.OffsetOf<T>(field));

    private static bool IsBlittable<T>() where T : unmanaged => !RuntimeHelpers.IsReferenceOrContainsReferences<T>();
}
