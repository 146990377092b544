/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BLAKE2b compressions of LANES messages side by side, one message in each
 * 64-bit lane of a vector. Included by hash.c once per vector width, with
 * LANES, LANES_VEC (a type name), LANES_FN (the function's name) and
 * LANES_TARGET (the instruction set, for GCC's target attribute) defined.
 */

typedef uint64_t LANES_VEC __attribute__((vector_size(8 * LANES)));

/*
 * LANES_FN - compress the first @blocks blocks of the messages @p[0..LANES)
 * into their states @h[lane]; none of these blocks is a message's last.
 * x86 only: the words are loaded in the CPU's (little-endian) order.
 */
__attribute__((target(LANES_TARGET))) static void
LANES_FN(uint64_t (*h)[8], const uint8_t *const *p, size_t blocks)
{
	LANES_VEC s[8], v[16], m[16];

	for (int i = 0; i < 8; i++)
		for (int l = 0; l < LANES; l++)
			s[i][l] = h[l][i];
	for (size_t b = 0; b < blocks; b++) {
		for (int i = 0; i < 16; i++) {
			LANES_VEC t;

			for (int l = 0; l < LANES; l++) {
				uint64_t w;

				memcpy(&w, p[l] + b * HASH_BLOCK + 8 * i, 8);
				t[l] = w;
			}
			m[i] = t;
		}
		for (int i = 0; i < 8; i++) {
			v[i] = s[i];
			v[i + 8] = (LANES_VEC){ 0 } + blake2b_iv[i];
		}
		v[12] ^= (uint64_t)(b + 1) * HASH_BLOCK;
		ROUNDS(v, m);
		for (int i = 0; i < 8; i++)
			s[i] ^= v[i] ^ v[i + 8];
	}
	for (int i = 0; i < 8; i++)
		for (int l = 0; l < LANES; l++)
			h[l][i] = s[i][l];
}

#undef LANES
#undef LANES_VEC
#undef LANES_FN
#undef LANES_TARGET
