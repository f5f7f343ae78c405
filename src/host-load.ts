// How busy the host is, for messages that blame a timeout on it ("could not observe
// ...; host load 7.2 on 2 CPUs"). Shared by the observers and the providers.
import { availableParallelism, loadavg } from 'node:os';

/** "host load 7.3 on 2 CPUs": said beside every timeout, which is the host's fault as often as the lab's. */
export const hostLoad = () => `host load ${loadavg()[0].toFixed(1)} on ${availableParallelism()} CPUs`;
