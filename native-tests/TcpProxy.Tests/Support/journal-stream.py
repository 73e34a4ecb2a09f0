# stderr as systemd gives it to a service that logs to the journal, for tests: a Unix
# stream socket, named by JOURNAL_STREAM=DEV:INODE (fstat of fd 2), then execs the command
# (so its PID is the caller's). Instead of journald, a child of ours copies what arrives
# on the socket to our original stderr, and ends when the command closes its end.
# usage: journal-stream.py COMMAND ARGS...
import os, socket, sys
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
if os.fork() == 0:
    theirs.close()
    while True:
        data = ours.recv(65536)
        if not data:
            os._exit(0)
        os.write(2, data)
ours.close()
os.dup2(theirs.fileno(), 2)
theirs.close()
status = os.fstat(2)
os.environ['JOURNAL_STREAM'] = '%d:%d' % (status.st_dev, status.st_ino)
os.execvp(sys.argv[1], sys.argv[1:])
