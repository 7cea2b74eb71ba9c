// Starts headless Chromium for the browser tests, the one way they all do: Debian's Chromium
// (or $CHROMIUM) with the flags that work on these machines (no sandbox as root, no GPU, no
// QUIC, no background network or updates). Each script says which extras it needs.
//
//   import { launchChromium } from './launch.mjs';
//   const browser = await launchChromium({ autoplay: true, args: ['--some-flag'] });
import { chromium } from 'playwright-core';

const BASE_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// `autoplay`: media may play without a click (pages whose <video> starts by itself).
// `args`: further flags, after the base ones.
export function launchChromium({ autoplay = false, args = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      ...BASE_ARGS,
      ...(autoplay ? ['--autoplay-policy=no-user-gesture-required'] : []),
      ...args,
    ],
  });
}
