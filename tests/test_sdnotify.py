import socket

from roomagent.sdnotify import Notifier


def test_no_socket_means_no_op():
    assert not Notifier({}).enabled and Notifier({}).ready("x") is False


def test_ready_and_status_reach_the_socket(tmp_path):
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        notifier = Notifier({"NOTIFY_SOCKET": path})
        assert notifier.ready("room h0104: keypad shown")
        assert server.recv(4096) == b"READY=1\nSTATUS=room h0104: keypad shown"
        assert notifier.stopping() and server.recv(4096) == b"STOPPING=1"


def test_abstract_socket_address():
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0roomagent-test-notify")
        assert Notifier({"NOTIFY_SOCKET": "@roomagent-test-notify"}).status("hello")
        assert server.recv(4096) == b"STATUS=hello"


def _unread_socket(tmp_path):
    """A notify socket whose manager never reads (stalled, or gone quiet): its queue fills up."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(tmp_path / "notify"))
    return server


def test_a_full_queue_never_blocks_the_sender(tmp_path):
    import threading

    server = _unread_socket(tmp_path)
    notifier = Notifier({"NOTIFY_SOCKET": server.getsockname()})
    results: list[bool] = []

    def flood():
        # A burst of state changes (udev events, say) while the manager reads nothing. Before, the
        # agent's GUI thread blocked in sendto() once the queue was full, and the room froze.
        results.extend(notifier.status(f"room h0104: idle ({n})") for n in range(200))
        results.append(notifier.watchdog())
        results.append(notifier.ready("room h0104: keypad shown"))
        results.append(notifier.stopping())

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    sender.join(60)  # a guard for a hang, not a timing check
    assert not sender.is_alive(), "the notifier blocked on a full queue"
    assert results[0] is True and results[-3:] == [False, False, False]
    # What did get through is intact and in order.
    assert server.recv(4096) == b"STATUS=room h0104: idle (0)"
    server.close()


def test_an_unchanged_status_is_not_sent_again(tmp_path):
    server = _unread_socket(tmp_path)
    notifier = Notifier({"NOTIFY_SOCKET": server.getsockname()})
    assert notifier.ready("room h0104: idle")
    assert notifier.status("room h0104: idle") and notifier.status("room h0104: idle")
    assert notifier.status("room h0104: in_meeting") and notifier.status("room h0104: in_meeting")
    server.setblocking(False)
    got = []
    while True:
        try:
            got.append(server.recv(4096))
        except BlockingIOError:
            break
    assert got == [b"READY=1\nSTATUS=room h0104: idle", b"STATUS=room h0104: in_meeting"]
    server.close()
