// Types of collide.mjs for the TypeScript tests.
export function oldEndpointHash(ip: Uint8Array, len: number, port: number): number;
export function oldFlowHash(version: number, proto: number, aIp: Uint8Array, aPort: number, bIp: Uint8Array, bPort: number): number;
export function collidingV6Endpoints(bits: number, port: number, target?: number): Uint8Array[];
