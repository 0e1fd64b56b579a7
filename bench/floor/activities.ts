/** The floor workflow's steps do nothing: the bench measures what carrying them costs. */
export const floorActivities = {
  async step(name: string): Promise<string> {
    return name;
  },
};
export type FloorActivities = typeof floorActivities;
