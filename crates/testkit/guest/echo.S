# A boot sector for the console tests (Passage's own, GPL-3.0-or-later): SeaBIOS boots it from
# a raw disk. It paints the text screen white on blue, prints its banner on the screen and on
# the first serial port (COM1, 0x3f8), then echoes every key it gets, from the serial port or
# the keyboard (BIOS int 16h), in capitals to both: so what comes back was read by the guest,
# not echoed by a terminal.
# Build: as --32 -o echo.o echo.S && ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o echo.img echo.o
        .code16
        .globl _start
_start:
        cli
        xor %ax, %ax
        mov %ax, %ds
        mov %ax, %ss
        mov $0x7c00, %sp
        mov $0xb800, %ax
        mov %ax, %es
        xor %di, %di
        mov $0x1f20, %ax            # ' ' white on blue
        mov $2000, %cx              # 80 x 25 cells
        rep stosw
        xor %di, %di
        mov $banner, %si
1:      lodsb
        test %al, %al
        jz wait
        mov %al, %bl
        call put
        jmp 1b
wait:   mov $0x3fd, %dx             # a byte from the serial port?
        in %dx, %al
        test $1, %al
        jz key
        mov $0x3f8, %dx
        in %dx, %al
        jmp got
key:    mov $1, %ah                 # a key from the keyboard?
        int $0x16
        jz wait
        xor %ah, %ah
        int $0x16
got:    mov %al, %bl
        cmp $'a', %bl
        jb 2f
        cmp $'z', %bl
        ja 2f
        sub $0x20, %bl
2:      call put
        cmp $'\r', %bl
        jne wait
        mov $'\n', %bl
        call put
        jmp wait
# put: the byte in %bl to COM1 and to the screen at %es:%di (a newline starts the next row).
put:    mov $0x3fd, %dx
3:      in %dx, %al
        test $0x20, %al
        jz 3b
        mov $0x3f8, %dx
        mov %bl, %al
        out %al, %dx
        cmp $'\n', %bl
        je 4f
        cmp $'\r', %bl
        je 5f
        mov $0x1f, %ah
        stosw
        ret
4:      mov %di, %ax                # to the start of the next row (160 bytes a row)
        xor %dx, %dx
        mov $160, %cx
        div %cx
        inc %ax
        mul %cx
        cmp $4000, %ax
        jb 6f
        xor %ax, %ax
6:      mov %ax, %di
5:      ret
banner: .asciz "PASSAGE CONSOLE TEST\r\n"
        .org 510
        .byte 0x55, 0xaa
