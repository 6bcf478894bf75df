'use strict'
// Stand-in for @napi-rs/cross-toolchain (see ../README.md): postpolicy builds its addon
// natively for the host, so `napi build` never loads this package.
throw new Error('@napi-rs/cross-toolchain is stubbed out in postpolicy (no cross or WASI builds); see node/scripts/stubs/README.md')
