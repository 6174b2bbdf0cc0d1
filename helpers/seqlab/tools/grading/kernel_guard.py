"""What the grader runs inside a student's kernel to keep test cells honest (sent as source, never imported there).

:data:`SNAPSHOT` runs silently as the first thing in every new kernel, before any student code:
it imports what the test cells rely on (seqlab, torch, the inline figure support, the course's
checks) and keeps copies of everything a student's code could change to fool a test cell:

- IPython's hooks: input transformers (cleanup, line, token, post), AST transformers, event
  callbacks (``pre_run_cell``, ``post_run_cell`` ...), the display hook and publisher, every
  display formatter's printers, custom exception handlers, ``sys.displayhook`` and
  ``sys.excepthook``, and the methods of the shell, kernel, compiler and formatter classes;
- the comparison functions and the checks: the module dictionaries of ``torch``,
  ``torch.testing``, ``torch.nn.functional``, ``torch.Tensor``, ``torch.nn`` layer classes and
  every loaded ``seqlab`` module (the checks, the shortcut lists, the weight loaders);
- ``builtins``, and the checks imported into the notebook's namespace.

:data:`RESTORE` runs silently before every test cell: it switches tracing and profiling off and
puts every copy back, and leaves ``__seqlab_restored__``, the list of what it had to put back
(empty for an honest notebook).  Silent executions trigger no ``pre_run_cell`` callback, so a
student's callback cannot patch things after the restore.

In one interpreter a determined student can still reach these copies (through ``gc`` or
``sys.modules``): the static scan of each submission flags such code.
"""

from __future__ import annotations

__all__ = ["SNAPSHOT", "RESTORE"]

# (The sources below are one string each: no triple double quotes inside them.)
SNAPSHOT = r"""
def __seqlab_guard_install():
    import builtins
    import importlib
    import sys
    import threading
    import types

    import seqlab  # first: it pins torch's numerical code paths
    import seqlab.checks
    import seqlab.session
    import seqlab.weights
    import torch
    import torch.nn.functional
    import torch.testing

    try:
        import matplotlib.pyplot  # noqa: F401  (registers the inline figure hooks, as the setup cell would)
    except Exception:
        pass
    ip = get_ipython()  # noqa: F821
    seqlab.session.explain_unwritten_exercises()  # the handler the setup cell installs
    try:
        ip.run_line_magic("matplotlib", "inline")  # the figure hooks a notebook's first figure installs
    except Exception:
        pass
    # the same setting again: loads what the setup cell's first call loads (it rewraps torch.manual_seed)
    torch.use_deterministic_algorithms(
        torch.are_deterministic_algorithms_enabled(), warn_only=torch.is_deterministic_algorithms_warn_only_enabled()
    )

    def copy_dict(owner):
        return owner, dict(vars(owner))

    modules = [torch, torch.testing, torch.nn.functional, builtins]
    modules += [m for name, m in list(sys.modules.items()) if name == "seqlab" or name.startswith("seqlab.")
                and not name.startswith("seqlab.tools")]
    classes = [torch.Tensor, torch.nn.Module, torch.nn.RNNCell, torch.nn.RNN, torch.nn.GRU, torch.nn.GRUCell,
               torch.nn.LSTM, torch.nn.LSTMCell, torch.nn.Linear]
    for owner in (ip, getattr(ip, "kernel", None), ip.compile, ip.display_formatter, ip.displayhook,
                  ip.display_pub, ip.input_transformer_manager, ip.events, ip.display_trap):
        if owner is not None:
            classes += [c for c in type(owner).__mro__ if c is not object and c not in classes]
    dicts = [copy_dict(m) for m in modules] + [copy_dict(c) for c in classes]
    formatters = {
        key: (f, dict(f.type_printers), dict(f.deferred_printers), dict(getattr(f, "singleton_printers", {})),
              f.enabled)
        for key, f in ip.display_formatter.formatters.items()
    }
    tm = ip.input_transformer_manager
    saved = {
        "formatters": formatters,
        "formatter_dict": dict(ip.display_formatter.formatters),
        "events": {name: list(callbacks) for name, callbacks in ip.events.callbacks.items()},
        "ast": list(ip.ast_transformers),
        "post": list(ip.input_transformers_post),
        "tm": tm,
        "cleanup": list(tm.cleanup_transforms),
        "line": list(tm.line_transforms),
        "token": list(tm.token_transformers),
        "custom": (ip.custom_exceptions, ip.CustomTB),
        "displayhook": ip.displayhook,
        "display_pub": ip.display_pub,
        "display_formatter": ip.display_formatter,
        "compile": ip.compile,
        "trap": (ip.display_trap, ip.display_trap.hook),
        "instance": {name: value for name, value in vars(ip).items() if callable(value)},
        "checks": {
            name: getattr(seqlab.checks, name)
            for name in dir(seqlab.checks)
            if name in seqlab.checks.__all__ or name.endswith("_SHORTCUTS")
        },
    }

    def same(current, value):
        if current is value:
            return True
        if isinstance(value, types.MethodType) and isinstance(current, types.MethodType):
            # a bound method is a new object at each look-up; IPython's set_custom_exc wraps anew
            return current.__self__ is value.__self__ and (
                current.__func__ is value.__func__
                or (current.__func__.__code__ is value.__func__.__code__ and handler(current) is handler(value))
            )
        return False

    def handler(method):
        # the student-supplied function inside IPython's set_custom_exc wrapper (None if there is none)
        function = method.__func__
        names = function.__code__.co_freevars
        cells = function.__closure__ or ()
        return next((c.cell_contents for n, c in zip(names, cells) if n == "handler"), None)

    def restore():
        changed = []
        if sys.gettrace() is not None or threading._trace_hook is not None:
            changed.append("a trace function")
        if sys.getprofile() is not None or threading._profile_hook is not None:
            changed.append("a profile function")
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        threading.setprofile(None)
        for owner, copy in dicts:
            current = vars(owner)
            label = getattr(owner, "__name__", repr(owner))
            for key, value in copy.items():
                if not same(current.get(key, restore), value):
                    try:
                        setattr(owner, key, value)
                    except Exception:
                        continue
                    changed.append(f"{label}.{key}")
        if ip.display_trap is not saved["trap"][0] or ip.display_trap.hook is not saved["trap"][1]:
            changed.append("the display trap")  # what sys.displayhook becomes while a cell runs
            ip.display_trap = saved["trap"][0]
            ip.display_trap.hook = saved["trap"][1]
        for attr in ("displayhook", "display_pub", "display_formatter", "compile"):
            if getattr(ip, attr) is not saved[attr]:
                changed.append(f"the shell's {attr}")
                setattr(ip, attr, saved[attr])
        if ip.display_formatter.formatters != saved["formatter_dict"]:
            changed.append("the display formatters")
            ip.display_formatter.formatters.clear()
            ip.display_formatter.formatters.update(saved["formatter_dict"])
        for key, (f, types_, deferred, singletons, enabled) in saved["formatters"].items():
            if (f.type_printers != types_ or f.deferred_printers != deferred or f.enabled != enabled
                    or dict(getattr(f, "singleton_printers", {})) != singletons):
                changed.append(f"the {key} formatter")
                f.type_printers.clear()
                f.type_printers.update(types_)
                f.deferred_printers.clear()
                f.deferred_printers.update(deferred)
                if hasattr(f, "singleton_printers"):
                    f.singleton_printers.clear()
                    f.singleton_printers.update(singletons)
                f.enabled = enabled
        events = {name: list(callbacks) for name, callbacks in ip.events.callbacks.items()}
        if events != saved["events"]:
            changed.append("the event callbacks")
            ip.events.callbacks.clear()
            ip.events.callbacks.update({name: list(c) for name, c in saved["events"].items()})
        for label, current, copy in (("AST transformers", ip.ast_transformers, saved["ast"]),
                                     ("input transformers", ip.input_transformers_post, saved["post"])):
            if current != copy:
                changed.append(f"the {label}")
                current[:] = copy
        if ip.input_transformer_manager is not saved["tm"]:
            changed.append("the input transformer manager")
            ip.input_transformer_manager = saved["tm"]
        tm = saved["tm"]
        for attr in ("cleanup", "line", "token"):
            name = {"cleanup": "cleanup_transforms", "line": "line_transforms", "token": "token_transformers"}[attr]
            if getattr(tm, name) != saved[attr]:
                changed.append(f"the input {name}")
                getattr(tm, name)[:] = saved[attr]
        if ip.custom_exceptions != saved["custom"][0] or not same(ip.CustomTB, saved["custom"][1]):
            changed.append("the custom exception handler")
            ip.custom_exceptions, ip.CustomTB = saved["custom"]
        for name, value in list(vars(ip).items()):
            if callable(value) and hasattr(type(ip), name) and not same(value, saved["instance"].get(name)):
                changed.append(f"the shell's {name}")
                if name in saved["instance"]:
                    setattr(ip, name, saved["instance"][name])
                else:
                    delattr(ip, name)
        namespace = sys.modules["__main__"].__dict__
        for name, value in saved["checks"].items():
            if name in namespace and namespace[name] is not value:
                changed.append(f"{name} in the notebook")
                namespace[name] = value
        return sorted(set(changed))

    guard = types.ModuleType("_seqlab_guard")
    guard.restore = restore
    sys.modules["_seqlab_guard"] = guard


__seqlab_guard_install()
del __seqlab_guard_install
"""

RESTORE = r"""
try:
    __seqlab_restored__ = __import__("sys").modules["_seqlab_guard"].restore()
except BaseException as __seqlab_error:
    __seqlab_restored__ = [f"the grader's guard is gone ({type(__seqlab_error).__name__})"]
"""
