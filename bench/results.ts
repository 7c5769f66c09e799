export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  peer?: string;
  peerValue?: number;
  /** ours / peer, same run */
  ratio?: number;
}
