// Why: tests read JSON answers loosely (`(await res.json()).error.code`); the DOM typing says unknown.
export {};
declare global {
  interface Response {
    json(): Promise<any>;
  }
}
