# Socket activation as systemd does it, for tests: binds and listens on each port given
# (IPv6 any, dual-stack), places the sockets at descriptors 3, 4... (the second named
# "metrics"), sets LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES and execs the command.
# usage: socket-activate.py PORT [METRICS-PORT] -- COMMAND ARGS...
import fcntl, os, socket, sys
sep = sys.argv.index('--'); ports = [int(a) for a in sys.argv[1:sep]]; cmd = sys.argv[sep+1:]
sockets = []
for port in ports:
    s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(('::', port)); s.listen(128)
    sockets.append(s)
# Out of the way first, so placing one at 3 + i never closes another.
high = [fcntl.fcntl(s.fileno(), fcntl.F_DUPFD, 100) for s in sockets]
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS=str(len(ports)), LISTEN_FDNAMES=':'.join(['proxy', 'metrics'][:len(ports)]))
os.execvp(cmd[0], cmd)
