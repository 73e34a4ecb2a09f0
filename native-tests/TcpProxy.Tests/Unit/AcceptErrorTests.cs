using TcpProxy.Interop;
using TcpProxy.Proxy;

namespace TcpProxy.Tests.Unit;

public sealed class AcceptErrorTests
{
    /// <summary>accept(2) lists these as network errors of that one connection, to be retried like EAGAIN; EPERM is a firewall's.</summary>
    [Theory]
    [InlineData(Errno.ENETDOWN)]
    [InlineData(Errno.EPROTO)]
    [InlineData(Errno.ENOPROTOOPT)]
    [InlineData(Errno.EHOSTDOWN)]
    [InlineData(Errno.ENONET)]
    [InlineData(Errno.EHOSTUNREACH)]
    [InlineData(Errno.EOPNOTSUPP)]
    [InlineData(Errno.ENETUNREACH)]
    [InlineData(Errno.EPERM)]
    [InlineData(Errno.ECONNABORTED)]
    [InlineData(Errno.EINTR)]
    public void ErrorsOfOneConnection_AreRetried_NotAPause(int errno) =>
        Assert.Equal(AcceptErrorAction.Retry, AcceptErrors.Classify(errno));

    [Theory]
    [InlineData(Errno.EMFILE)]
    [InlineData(Errno.ENFILE)]
    [InlineData(Errno.ENOBUFS)]
    [InlineData(Errno.ENOMEM)]
    public void ExhaustedResources_PauseAccepting(int errno) =>
        Assert.Equal(AcceptErrorAction.Pause, AcceptErrors.Classify(errno));

    [Fact]
    public void Eagain_MeansTheBacklogIsDrained() =>
        Assert.Equal(AcceptErrorAction.Drained, AcceptErrors.Classify(Errno.EAGAIN));

    [Theory]
    [InlineData(Errno.EBADF)]
    [InlineData(Errno.EINVAL)]
    public void AnythingElse_IsUnexpected(int errno) =>
        Assert.Equal(AcceptErrorAction.Unexpected, AcceptErrors.Classify(errno));
}
