#!/usr/bin/env python3
"""Embeds a text file in the binary as a NUL-terminated C string.

usage: embed.py SYMBOL INPUT OUTPUT.c
"""
import sys

sym, src, dst = sys.argv[1:4]
data = open(src, 'rb').read()
with open(dst, 'w') as f:
    f.write('/* Generated from %s by tools/embed.py. Do not edit. */\n' % src.split('/')[-1])
    f.write('#include <stddef.h>\n')
    f.write('const char %s[] = {\n' % sym)
    for i in range(0, len(data), 16):
        f.write(''.join('%d,' % b for b in data[i:i + 16]) + '\n')
    f.write('0};\n')
    f.write('const size_t %s_len = %d;\n' % (sym, len(data)))
