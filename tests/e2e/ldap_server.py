"""A real OpenLDAP server (Debian's slapd) for the single sign-on tests, started in a tmp dir.

slapd runs from its own slapd.conf (back_mdb, the core/cosine/inetorgperson schemas) on a free
127.0.0.1 port, loaded offline with slapadd from an LDIF of users and groups, and is stopped by PID.
It never touches a system slapd. Changes during a test (remove a user from a group, delete a user)
go through python-ldap as the directory's root DN.
"""

import shutil
import subprocess
from pathlib import Path

import ldap
import ldap.modlist

from tests.e2e.servers import StartError, free_port, spawn, stop_process, tail, wait_ready

BASE = "dc=berth,dc=test"
ROOT_DN, ROOT_PASSWORD = f"cn=admin,{BASE}", "ldap-root-Pa55"
PEOPLE, GROUPS = f"ou=people,{BASE}", f"ou=groups,{BASE}"
USERS = {"dora": "dora-Dir-Pa55", "dave": "dave-Dir-Pa55", "erin": "erin-Dir-Pa55"}
# group cn -> member uids
MEMBERS = {"developers": ["dave", "erin"], "ops": ["erin"]}
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
MODULE_DIRS = ("/usr/lib/ldap", "/usr/lib/x86_64-linux-gnu/ldap", "/usr/lib/aarch64-linux-gnu/ldap")


def user_dn(uid):
    return f"uid={uid},{PEOPLE}"


def group_dn(cn):
    return f"cn={cn},{GROUPS}"


def ldif():
    entries = [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Berth test\ndc: berth",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
    ]
    for uid, password in USERS.items():
        entries.append(
            f"dn: {user_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid.title()}\nsn: Tester\n"
            f"givenName: {uid.title()}\nmail: {uid}@berth.test\nuserPassword: {password}"
        )
    for cn, uids in MEMBERS.items():
        members = "\n".join(f"member: {user_dn(uid)}" for uid in uids)
        entries.append(f"dn: {group_dn(cn)}\nobjectClass: groupOfNames\ncn: {cn}\n{members}")
    return "\n\n".join(entries) + "\n"


def slapd_conf(workdir):
    module_dir = next(
        (d for d in MODULE_DIRS if Path(d, "back_mdb.la").exists() or Path(d, "back_mdb.so").exists()), None
    )
    includes = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    module = f"modulepath {module_dir}\nmoduleload back_mdb\n" if module_dir else ""
    return f"""{includes}
{module}pidfile {workdir}/slapd.pid
argsfile {workdir}/slapd.args
database mdb
maxsize 10485760
suffix "{BASE}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {workdir}/data
access to attrs=userPassword by anonymous auth by self write by * none
access to * by * read
"""


class LdapServer:
    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.port = None
        self.proc = None
        self.log = self.workdir / "slapd.log"

    @property
    def uri(self):
        return f"ldap://127.0.0.1:{self.port}"

    def start(self):
        slapd = shutil.which("slapd") or "/usr/sbin/slapd"
        if not Path(slapd).exists() or not shutil.which("slapadd", path="/usr/sbin:/usr/bin"):
            raise StartError("slapd/slapadd not found: install slapd and ldap-utils (scripts/test-deps.sh)")
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "slapd.conf"
        conf.write_text(slapd_conf(self.workdir))
        (self.workdir / "data.ldif").write_text(ldif())
        slapadd = shutil.which("slapadd", path="/usr/sbin:/usr/bin")
        loaded = subprocess.run(
            [slapadd, "-f", str(conf), "-l", str(self.workdir / "data.ldif")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if loaded.returncode != 0:
            raise StartError(f"slapadd failed:\n{loaded.stdout}\n{loaded.stderr}")
        self.port = free_port()
        # -d 0: stay in the foreground (our PID to stop), log nothing but errors.
        self.proc = spawn([slapd, "-f", str(conf), "-h", self.uri + "/", "-d", "0"], self.log)
        wait_ready(self.proc, self._answers, "slapd", self.log, 30)
        return self

    def _answers(self):
        try:
            self.connection().unbind_s()
        except ldap.LDAPError as exc:
            return repr(exc)
        return True

    def connection(self):
        conn = ldap.initialize(self.uri)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 3)
        conn.simple_bind_s(ROOT_DN, ROOT_PASSWORD)
        return conn

    def remove_member(self, group_cn, uid):
        conn = self.connection()
        try:
            conn.modify_s(group_dn(group_cn), [(ldap.MOD_DELETE, "member", [user_dn(uid).encode()])])
        finally:
            conn.unbind_s()

    def delete_user(self, uid):
        conn = self.connection()
        try:
            conn.delete_s(user_dn(uid))
        finally:
            conn.unbind_s()

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def env(self):
        """Berth's environment for this directory (search, not a DN template: a deleted user is not found)."""
        return {
            "AUTH_LDAP_SERVER_URI": self.uri,
            "AUTH_LDAP_BIND_DN": ROOT_DN,
            "AUTH_LDAP_BIND_PASSWORD": ROOT_PASSWORD,
            "AUTH_LDAP_USER_SEARCH_BASE": PEOPLE,
            "AUTH_LDAP_USER_SEARCH_FILTER": "(uid=%(user)s)",
            "AUTH_LDAP_GROUP_SEARCH_BASE": GROUPS,
            "AUTH_LDAP_TIMEOUT": "3",
        }

    def describe(self):
        return tail(self.log)
