"""A tiny terminal emulator: what a user would see after the output has been written.

Understands exactly the controls Rich's Live display emits (carriage return, newline,
cursor up/down/column, erase in line, cursor show/hide, SGR, OSC 8 hyperlinks) and fails
loudly on any other escape sequence, so a test cannot pass by ignoring what it does not understand.
"""

from __future__ import annotations

import re

_CSI = re.compile(r"\x1b\[(\??)([0-9;]*)([A-Za-z])")
_OSC_LINK = re.compile(r"\x1b\]8;[^\x07\x1b]*(?:\x07|\x1b\\)")  # hyperlink start / end


class Screen:
    """An infinitely tall screen with scrollback: rows of characters and a cursor.

    With a ``width``, lines wrap as a VT100's do: a character written in the last column
    leaves the cursor there with a wrap pending, and the next printable character (say
    the tty's echo of ``^C``) starts a new row first. Without one, rows never wrap.
    """

    def __init__(self, width: int | None = None) -> None:
        self.rows: list[list[str]] = [[]]
        self.row = 0
        self.col = 0
        self.width = width
        self.pending_wrap = False

    def feed(self, data: str) -> None:
        pos = 0
        while pos < len(data):
            char = data[pos]
            if char == "\x1b":
                link = _OSC_LINK.match(data, pos)
                if link is not None:
                    pos = link.end()
                    continue
                m = _CSI.match(data, pos)
                if m is None:
                    raise ValueError(f"unsupported escape at {pos}: {data[pos:pos + 12]!r}")
                self._control(m.group(1), m.group(2), m.group(3))
                pos = m.end()
                continue
            self._char(char)
            pos += 1

    def text(self) -> str:
        """Visible text, trailing spaces and trailing empty rows removed."""
        lines = ["".join(row).rstrip() for row in self.rows]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)

    def _char(self, char: str) -> None:
        if char == "\n":
            self._new_row()
        elif char == "\r":
            self.col = 0
            self.pending_wrap = False
        else:
            if self.pending_wrap:
                self._new_row()
            row = self.rows[self.row]
            row.extend(" " * (self.col + 1 - len(row)))
            row[self.col] = char
            if self.width is not None and self.col == self.width - 1:
                self.pending_wrap = True
            else:
                self.col += 1

    def _new_row(self) -> None:
        self.row += 1
        self.col = 0
        self.pending_wrap = False
        while len(self.rows) <= self.row:
            self.rows.append([])

    def _control(self, private: str, params: str, final: str) -> None:
        n = int(params) if params.isdigit() else None
        if final in "ABG":
            self.pending_wrap = False
        if private:
            if params == "25" and final in "hl":
                return  # cursor show / hide
            raise ValueError(f"unsupported private mode {params}{final}")
        if final == "m":
            return  # colours and styles do not change the text
        if final == "A":
            self.row = max(0, self.row - (n or 1))
        elif final == "B":
            self.row += n or 1
            while len(self.rows) <= self.row:
                self.rows.append([])
        elif final == "G":
            self.col = (n or 1) - 1
        elif final == "K":
            self._erase_line(n or 0)
        else:
            raise ValueError(f"unsupported control {params}{final}")

    def _erase_line(self, mode: int) -> None:
        row = self.rows[self.row]
        if mode == 2:
            row.clear()
        elif mode == 0:
            del row[self.col:]
        else:
            row[: self.col] = [" "] * min(self.col, len(row))


def visible_text(output: str, width: int | None = None) -> str:
    """The text left on screen after ``output`` was written to a fresh terminal."""
    screen = Screen(width)
    screen.feed(output)
    return screen.text()
