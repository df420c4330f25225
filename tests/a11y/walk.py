#!/usr/bin/python3
"""Reads what a screen reader reads of one application: its accessibility tree over AT-SPI,
the interface Orca uses.

    walk.py PID           the tree, one node per line: indent, role, 'name', (description), [states]
    walk.py PID problems  only what a screen reader could not name, one per line
    walk.py PID click NAME  presses the button named NAME (its AT-SPI action, as Orca does)

GTK 4.8 presents every node it does not hide, on screen or not (a stack's other pages are
hidden by the app); GTK names an unnamed widget by its type ("GtkImage"), which counts as no
name. A problem is
- an interactive control (button, check box, radio, entry, spin box, drop-down, switch, link)
  without a name;
- a list item that can take focus with neither a name nor a label inside it;
- an image that is not inside a named button: a status icon must say its status, and a
  decoration must be hidden.
Exits 2 when no application with that process id is on the accessibility bus.
"""

import re
import sys

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, GLib  # noqa: E402

# A call the app does not answer fails in 5 s instead of D-Bus's 25 s default.
Atspi.set_timeout(5000, 10000)

STATES = {
    Atspi.StateType.CHECKED: "checked",
    Atspi.StateType.EXPANDABLE: "expandable",
    Atspi.StateType.EXPANDED: "expanded",
    Atspi.StateType.FOCUSABLE: "focusable",
    Atspi.StateType.FOCUSED: "focused",
    Atspi.StateType.SELECTED: "selected",
    Atspi.StateType.SENSITIVE: "sensitive",
}
INTERACTIVE = {
    "push button", "toggle button", "check box", "radio button", "spin button", "text",
    "entry", "password text", "combo box", "slider", "switch", "link", "menu item",
    "check menu item", "radio menu item",
}
BUTTONS = {"push button", "toggle button", "check box", "radio button", "link"}
TYPE_NAME = re.compile(r"^(Gtk|Adw)[A-Z][A-Za-z]*$")


class Node:
    def __init__(self, obj, depth, parent):
        self.obj = obj
        self.depth = depth
        self.parent = parent
        self.role = obj.get_role_name()
        name = obj.get_name() or ""
        self.name = "" if TYPE_NAME.match(name) else name
        self.description = obj.get_description() or ""
        st = obj.get_state_set()
        self.states = [n for s, n in STATES.items() if st.contains(s)]
        self.children = []

    def line(self):
        desc = f" ({self.description})" if self.description else ""
        states = ",".join(s for s in self.states if s != "sensitive")
        if "sensitive" not in self.states:
            states = (states + ",insensitive").lstrip(",")
        return f"{'  ' * self.depth}{self.role} '{self.name}'{desc} [{states}]"

    def ancestors(self):
        p = self.parent
        while p is not None:
            yield p
            p = p.parent

    def has_text(self):
        return any(c.role == "label" and c.name.strip() or c.has_text() for c in self.children)

    def where(self):
        for a in self.ancestors():
            if a.name:
                return f"in {a.role} '{a.name}'"
        return "at the top"

    def problem(self):
        if self.role in INTERACTIVE and not self.name:
            return f"{self.role} without a name {self.where()}"
        if self.role == "list item" and "focusable" in self.states and not self.name \
                and not self.has_text():
            return f"list item without a name or text {self.where()}"
        if self.role == "image" and not self.name:
            if not any(a.role in BUTTONS and a.name for a in self.ancestors()):
                return f"image without a name (a status icon must say its status) {self.where()}"
        return None


def read(obj, depth, parent):
    node = Node(obj, depth, parent)
    for i in range(obj.get_child_count()):
        try:
            child = obj.get_child_at_index(i)
        except GLib.Error:
            continue  # it went away while we read it
        if child is not None:
            node.children.append(read(child, depth + 1, node))
    return node


def flat(node):
    yield node
    for c in node.children:
        yield from flat(c)


def main():
    pid = int(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "tree"
    desktop = Atspi.get_desktop(0)
    for i in range(desktop.get_child_count()):
        app = desktop.get_child_at_index(i)
        if app is None or app.get_process_id() != pid:
            continue
        for j in range(app.get_child_count()):
            win = app.get_child_at_index(j)
            if win is None:
                continue
            for n in flat(read(win, 0, None)):
                if mode == "click":
                    if n.role == "push button" and n.name == sys.argv[3]:
                        n.obj.get_action_iface().do_action(0)
                        return 0
                    continue
                if mode == "problems":
                    p = n.problem()
                    if p:
                        print(p)
                else:
                    print(n.line())
        if mode == "click":
            print(f"no button named {sys.argv[3]!r}", file=sys.stderr)
            return 3
        return 0
    print(f"no application with pid {pid} on the accessibility bus", file=sys.stderr)
    return 2


sys.exit(main())
