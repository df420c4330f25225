# A boot sector for the console benchmark (Passage's own, GPL-3.0-or-later): it repaints the
# whole text screen without end, each pass in the next colour, so the display changes all the
# time (QEMU sends the changed screen at its refresh rate).
# Build: as --32 -o pattern.o pattern.S && ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o pattern.img pattern.o
        .code16
        .globl _start
_start:
        cli
        mov $0xb800, %ax
        mov %ax, %es
        xor %bl, %bl
pass:   xor %di, %di
        mov %bl, %ah                # this pass's colours
        mov $0xdb, %al              # a full block
        mov $2000, %cx              # 80 x 25 cells
        rep stosw
        inc %bl
        mov $0x4000, %dx            # a short wait, so a pass is not lost between refreshes
1:      dec %dx
        jnz 1b
        jmp pass
        .org 510
        .byte 0x55, 0xaa
