"""Shared helpers for the control-plane integration tests: start a real
smsfw-controld in a temporary state directory, run smsfwctl against it,
play the dataplane with cp_evtool."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


class Fail(Exception):
    pass


class Harness:
    def __init__(self, controld, smsfwctl, evtool, config_text=None):
        self.controld = controld
        self.smsfwctl = smsfwctl
        self.evtool_path = evtool
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self.dir = tempfile.mkdtemp(prefix="smsfw-cp-", dir=base)
        self.sock = os.path.join(self.dir, "controld.sock")
        self.evsock = os.path.join(self.dir, "events.sock")
        self.store = os.path.join(self.dir, "store")
        # Always an explicit file (empty = built-in defaults), so a
        # /etc/smsfw/smsfw.conf on the machine never leaks into a test.
        self.set_config(config_text or "")
        self.proc = None
        self.checks = 0
        self.failures = 0

    def set_config(self, text):
        self.config = os.path.join(self.dir, "smsfw.conf")
        with open(self.config, "w") as f:
            f.write(text)

    def start(self):
        args = [self.controld, "--foreground", "--state-dir", self.dir, "--config", self.config]
        for stale in (self.sock, self.evsock):  # left behind by a kill -9
            if os.path.exists(stale):
                os.unlink(stale)
        self.log = open(os.path.join(self.dir, "controld.log"), "a")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        for _ in range(1000):   # up to 10 s: CI shares two cores with the lab tests
            if os.path.exists(self.sock) and os.path.exists(self.evsock):
                return
            if self.proc.poll() is not None:
                raise Fail("controld exited with %d: %s" % (self.proc.returncode, self.logtext()))
            time.sleep(0.01)
        raise Fail("controld did not create its sockets")

    def logtext(self):
        with open(os.path.join(self.dir, "controld.log")) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def ctl(self, *args, env_socket=True, json_out=False, input=None):
        argv = [self.smsfwctl]
        if json_out:
            argv.append("--json")
        env = dict(os.environ)
        if env_socket:
            env["SMSFW_SOCKET"] = self.sock
        p = subprocess.run(argv + list(args), capture_output=True, text=True, env=env,
                           input=input, timeout=60)
        data = None
        if json_out and p.returncode == 0:
            data = json.loads(p.stdout)
        return p.returncode, data if json_out else p.stdout, p.stderr

    def events(self, instance, kind, count, customer="evcust"):
        p = subprocess.run([self.evtool_path, self.evsock, str(instance), kind, str(count), customer],
                           capture_output=True, text=True, timeout=300)
        return p.returncode, p.stdout

    def check(self, cond, what):
        self.checks += 1
        # one TAP line: a description quoting a program's output may hold
        # newlines, which meson reads as unknown TAP output
        what = " ".join(str(what).split("\n"))
        if cond:
            print("ok %d - %s" % (self.checks, what))
        else:
            self.failures += 1
            print("not ok %d - %s" % (self.checks, what))
        sys.stdout.flush()

    def expect(self, rc_want, args, what, json_out=False):
        rc, out, err = self.ctl(*args, json_out=json_out)
        self.check(rc == rc_want, "%s (exit %d, want %d)%s" % (
            what, rc, rc_want, "" if rc == rc_want else ": " + err.strip()[:300]))
        return out

    def finish(self):
        self.stop()
        if self.failures:
            print("# %d of %d checks failed; controld log:\n%s" % (
                self.failures, self.checks, self.logtext()))
        shutil.rmtree(self.dir, ignore_errors=True)
        print("1..%d" % self.checks)
        return 1 if self.failures else 0
