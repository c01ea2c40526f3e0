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
