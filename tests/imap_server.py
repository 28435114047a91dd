"""A real Dovecot IMAP server on a loopback port, private to the test run (own config, maildir, passwords).

Debian's dovecot-imapd is installed by scripts/ensure-test-packages.sh; the system instance is never used.
"""
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

_CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = {uid}
first_valid_gid = {gid}
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@dataclass
class ImapServer:
    host: str
    port: int
    root: str
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(root: str, users: dict[str, str]) -> ImapServer:
    os.makedirs(os.path.join(root, "run"), exist_ok=True)
    with open(os.path.join(root, "passwd"), "w") as f:
        for name, password in users.items():
            f.write(f"{name}:{{PLAIN}}{password}\n")
    for sub in ("state", "mail", "home"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    # Dovecot refuses to run its login and mail processes as root; as root, they run as Debian's own
    # dovecot user, which then must own the tree.
    account = pwd.getpwnam("dovecot") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
    uid, gid = account.pw_uid, account.pw_gid
    if os.getuid() == 0:
        os.chmod(root, 0o755)
        for path, dirs, files in os.walk(root):
            for name in [path] + [os.path.join(path, n) for n in dirs + files]:
                os.chown(name, uid, gid)
    port = _free_port()
    config = os.path.join(root, "dovecot.conf")
    with open(config, "w") as f:
        f.write(_CONFIG.format(root=root, port=port, uid=uid, gid=gid, user=account.pw_name,
                               group=grp.getgrgid(gid).gr_name))
    process = subprocess.Popen([DOVECOT, "-F", "-c", config], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited: {process.stdout.read().decode(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return ImapServer("127.0.0.1", port, root, process)
        except OSError:
            time.sleep(0.1)
    process.kill()
    log = open(os.path.join(root, "dovecot.log")).read() if os.path.exists(os.path.join(root, "dovecot.log")) else ""
    raise RuntimeError(f"dovecot did not answer on port {port}: {log}")
