"""analysis.mro: linearization, owners, shadows, extends/replaces, no descriptor runs."""
import sys

import pytest

from analysis import mro
from analysis._compat import socketserver

PY2 = sys.version_info[0] == 2
SS = socketserver.__name__  # SocketServer on 2.7, socketserver on 3


def names(classes):
    return [mro.qualified_name(c) for c in classes]


def test_threading_tcp_server_order_and_owners():
    result = mro.analyze("socketserver.ThreadingTCPServer")
    expected = ["%s.%s" % (SS, n) for n in ("ThreadingTCPServer", "ThreadingMixIn", "TCPServer", "BaseServer")]
    if not PY2:
        expected.append("builtins.object")
    assert result.cls == "%s.ThreadingTCPServer" % SS
    assert result.mro == expected
    assert result.new_style is (not PY2)  # SocketServer's classes are classic on 2.7
    assert result.bases["%s.ThreadingTCPServer" % SS] == ["%s.ThreadingMixIn" % SS, "%s.TCPServer" % SS]
    process_request = result.attribute("process_request")
    assert process_request.owner == "%s.ThreadingMixIn" % SS
    assert process_request.shadows == ["%s.BaseServer" % SS]
    assert process_request.override == "replaces"
    assert process_request.kind == "method"
    assert process_request.doc == "Start a new thread to process the request."
    assert process_request.file.endswith(("socketserver.py", "SocketServer.py"))
    init = result.attribute("__init__")
    assert (init.owner, init.override) == ("%s.TCPServer" % SS, "extends")  # calls BaseServer.__init__
    assert result.attribute("timeout").kind == "attribute"
    assert result.attribute("timeout").owner == "%s.BaseServer" % SS


def test_server_close_owner_per_version():
    attribute = mro.analyze("socketserver.ThreadingTCPServer").attribute("server_close")
    if not PY2:
        # ThreadingMixIn joins its threads, then calls up to TCPServer's:
        # public block_on_close from 3.7 (bpo-31233), and in 3.6's late
        # releases already, behind a private _block_on_close = False
        # (bpo-31151 backport) -- recorded here on 3.6.15.
        assert attribute.owner == "%s.ThreadingMixIn" % SS
        assert attribute.shadows == ["%s.TCPServer" % SS, "%s.BaseServer" % SS]
        assert attribute.override == "extends"
    else:
        assert attribute.owner == "%s.TCPServer" % SS
        assert attribute.shadows == ["%s.BaseServer" % SS]
        assert attribute.override == "replaces"


def test_service_actions_exists_from_3():
    result = mro.analyze("socketserver.TCPServer")
    if PY2:
        with pytest.raises(KeyError):
            result.attribute("service_actions")
    else:
        assert result.owner("service_actions") == "socketserver.BaseServer"


@pytest.mark.parametrize("spelling", ["socketserver.UDPServer", "socketserver:UDPServer"])
def test_resolve_spellings(spelling):
    assert mro.resolve(spelling) is socketserver.UDPServer


def test_http_server_extends_server_bind():
    result = mro.analyze("http.server.HTTPServer")
    bind = result.attribute("server_bind")
    assert bind.owner.endswith(".HTTPServer")
    assert bind.override == "extends"  # socketserver.TCPServer.server_bind(self)
    assert bind.doc == "Override server_bind to store the server name."


@pytest.mark.parametrize(
    "name, message",
    [
        ("nope.Foo", "unknown class nope.Foo (nope: No module named"),
        ("socketserver.Nope", "unknown class socketserver.Nope ("),
        ("justaname", "not a class name (want module.Class or module:Class): 'justaname'"),
        ("socketserver.BaseServer.serve_forever", "socketserver.BaseServer.serve_forever is not a class (it is a function)"),
    ],
)
def test_resolve_errors(name, message):
    with pytest.raises(mro.UnknownClass) as info:
        mro.resolve(name)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


class Base(object):
    value = 1

    def method(self):
        """Base's method."""
        return 1

    def other(self):
        return 2


class ExtendsWithSuper(Base):
    def method(self):
        return super(ExtendsWithSuper, self).method() + 1


class ExtendsByName(Base):
    def method(self):
        return Base.method(self) + 1


class Replaces(Base):
    value = 2

    def method(self):
        return 3

    def other(self):
        # calls super, but for another name: still a replacement of other()
        return super(Replaces, self).method()


class Kinds(object):
    @classmethod
    def build(cls):
        return cls()

    @staticmethod
    def helper():
        return 0

    @property
    def explodes(self):
        raise AssertionError("a property ran")


class Descriptor(object):
    def __get__(self, obj, owner):
        raise AssertionError("a descriptor ran")


class WithDescriptor(Kinds):
    trap = Descriptor()


def test_extends_and_replaces():
    assert mro.analyze(ExtendsWithSuper).attribute("method").override == "extends"
    assert mro.analyze(ExtendsByName).attribute("method").override == "extends"
    replaces = mro.analyze(Replaces)
    assert replaces.attribute("method").override == "replaces"
    assert replaces.attribute("other").override == "replaces"
    assert replaces.attribute("value").override == "replaces"
    assert replaces.attribute("value").shadows == [mro.qualified_name(Base)]
    base_method = mro.analyze(Base).attribute("method")
    assert (base_method.override, base_method.shadows, base_method.doc) == (None, [], "Base's method.")


def test_kinds_without_running_descriptors():
    result = mro.analyze(WithDescriptor)
    kinds = dict((a.name, a.kind) for a in result.attributes)
    assert kinds == {"build": "classmethod", "helper": "staticmethod", "explodes": "property", "trap": "attribute"}
    assert result.attribute("explodes").owner == mro.qualified_name(Kinds)
    assert result.attribute("build").line == Kinds.__dict__["build"].__func__.__code__.co_firstlineno


class A(object):
    pass


class B(A):
    pass


class C(A):
    pass


class D(B, C):
    pass


class E(C, B):
    pass


@pytest.mark.parametrize("cls", [D, E, socketserver.ThreadingUDPServer] if not PY2 else [D, E])
def test_c3_matches_the_interpreter(cls):
    assert mro.c3(cls) == list(cls.__mro__) == mro.linearize(cls)


def test_c3_refuses_an_inconsistent_hierarchy():
    # class Bad(D, E) cannot exist: D puts B before C, E puts C before B.
    graph = {"Bad": (D, E)}
    with pytest.raises(TypeError) as info:
        mro.c3("Bad", bases_of=lambda c: graph[c] if c in graph else c.__bases__)
    assert str(info.value).startswith("no consistent method resolution order for ")


@pytest.mark.skipif(not PY2, reason="classic classes exist only on Python 2")
def test_classic_classes_are_depth_first():
    namespace = {"__name__": "classic"}
    exec("class P: x = 'P'\nclass L(P): pass\nclass R(P): x = 'R'\nclass Child(L, R): pass\n", namespace)
    child = namespace["Child"]
    result = mro.analyze(child)
    assert result.new_style is False
    assert [name.split(".")[-1] for name in result.mro] == ["Child", "L", "P", "R"]
    # The classic rule finds P's x first, where C3 would find R's.
    assert result.attribute("x").owner.endswith(".P")
    assert child.x == "P"
